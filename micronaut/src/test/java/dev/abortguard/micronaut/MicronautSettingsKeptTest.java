package dev.abortguard.micronaut;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Micronaut's own gRPC server settings still apply with the guard on: {@code grpc.server.port}, the
 * builder settings bound from {@code grpc.server.*} (max inbound message size, keep-alive) and every
 * {@code ServerInterceptor} bean. Each is checked on the wire against a value stock grpc-java would
 * not have (4 MiB messages, keep-alive pings after 2 h).
 */
class MicronautSettingsKeptTest {
  @Test
  void portIsMicronauts() throws IOException {
    int port;
    try (ServerSocket probe = new ServerSocket()) {
      probe.bind(new InetSocketAddress("127.0.0.1", 0));
      port = probe.getLocalPort();
    }
    try (MicronautApp app = MicronautApp.start("grpc.server.port", Integer.toString(port));
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", port)) {
      assertEquals(port, app.grpcPort());
      Wire.abortedBidi(client);
    }
  }

  @Test
  void maxInboundMessageSizeIsStillEnforced() {
    try (MicronautApp app = MicronautApp.start("grpc.server.max-inbound-message-size", "100");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      int small = client.startCall(DemoService.UNARY, Map.of(), false);
      client.sendMessage(small, new byte[50], true);
      Frame ok = client.awaitFrame(f -> f.streamId() == small && f.type() == RawHttp2Client.HEADERS && f.endStream(),
          Wire.WAIT);
      assertEquals("0", ok.header("grpc-status"), client.describeFrames());

      int big = client.startCall(DemoService.UNARY, Map.of(), false);
      client.sendMessage(big, new byte[200], true);
      Frame refused = client.awaitFrame(f -> f.streamId() == big && f.type() == RawHttp2Client.HEADERS && f.endStream(),
          Wire.WAIT);
      assertEquals("8", refused.header("grpc-status"), "RESOURCE_EXHAUSTED expected:\n" + client.describeFrames());
    }
  }

  /** grpc-java's shortest keep-alive time is 10 s (KeepAliveManager clamps it); stock is 2 h. */
  @Test
  void keepAliveTimeIsStillApplied() {
    try (MicronautApp app = MicronautApp.start("grpc.server.keep-alive-time", "10s",
            "grpc.server.keep-alive-timeout", "5s");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      Wire.abortedBidi(client);
      long start = System.nanoTime();
      Frame ping = client.awaitFrame(f -> f.type() == RawHttp2Client.PING
          && (f.flags() & RawHttp2Client.FLAG_ACK) == 0, Duration.ofSeconds(15));
      long afterMillis = (ping.receivedNanos() - start) / 1_000_000;
      assertTrue(afterMillis < 12_000, "the server's keep-alive ping came after " + afterMillis + " ms");
    }
  }

  @Test
  void everyInterceptorBeanStillRuns() {
    try (MicronautApp app = MicronautApp.start();
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      CallCounter counter = app.context.getBean(CallCounter.class);
      int before = counter.calls();
      Wire.abortedBidi(client); // rejected by the AuthInterceptor bean
      int echo = client.startCall(DemoService.UNARY, Map.of(), false);
      client.sendMessage(echo, new byte[] {1, 2, 3}, true);
      Frame end = client.awaitFrame(f -> f.streamId() == echo && f.type() == RawHttp2Client.HEADERS && f.endStream(),
          Wire.WAIT);
      assertEquals("0", end.header("grpc-status"), client.describeFrames());
      assertArrayEquals(new byte[] {0, 0, 0, 0, 3, 1, 2, 3}, client.receivedData(echo));
      assertEquals(before + 2, counter.calls(), "the CallCounter bean should see both calls");
    }
  }
}
