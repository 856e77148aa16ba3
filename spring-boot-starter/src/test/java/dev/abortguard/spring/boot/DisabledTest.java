package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.grpc.server.NettyGrpcServerFactory;

/** {@code abortguard.enabled=false} installs nothing: Boot's factory, stock wire behaviour, no meters. */
class DisabledTest {
  @Test
  void disabledInstallsNothing() {
    try (BootApp app = BootApp.start("--abortguard.enabled=false", "--abortguard.reset=immediate");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      assertFalse(app.guard().config().enabled());
      assertEquals(NettyGrpcServerFactory.class, app.grpcServerFactory().getClass());

      // Stock grpc-java: eager headers go out, and nothing follows the trailers, despite "immediate".
      Frame trailers = Wire.abortedBidi(client);
      client.assertNoFrame(f -> f.type() == RawHttp2Client.RST_STREAM, Duration.ofMillis(500));
      int id = client.startCall(DemoService.BIDI,
          Map.of(AuthInterceptor.ABORT, "PERMISSION_DENIED", AuthInterceptor.HEADERS_FIRST, "true"), false);
      Frame last = client.awaitFrame(f -> f.streamId() == id && f.endStream(), Wire.WAIT);
      assertEquals(2, client.frames(id).stream().filter(f -> f.type() == RawHttp2Client.HEADERS).count(),
          "headers, then trailers:\n" + client.describeFrames());
      assertTrue(last.endStream());

      assertNull(app.meterRegistry().find("grpc.server.aborts").counter());
      assertNull(app.meterRegistry().find("grpc.server.streams.lingering").gauge());
      assertTrue(trailers.endStream());
    }
  }
}
