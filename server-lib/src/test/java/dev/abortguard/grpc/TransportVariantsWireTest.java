package dev.abortguard.grpc;

import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.GuardMeters;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import dev.abortguard.testing.TestTls;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The adapter over TLS and through the {@code ServerCredentials} path. */
class TransportVariantsWireTest {
  static final Duration WAIT = Duration.ofSeconds(5);
  static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");
  static final String BIDI = TestServers.path(TestServers.BIDI);

  @Test
  void immediateResetLeavesWithTheTrailersOverTls() {
    // The reset must be written above the SslHandler, or it waits in TLS for the next flush.
    try (GuardedTestServer server = GuardedTestServer.start(b -> b.reset(ResetPolicy.IMMEDIATE), TestServers.tlsCredentials(), TestServers::withEcho);
        RawHttp2Client client = RawHttp2Client.connectTls("127.0.0.1", server.port())) {
      int stream = client.startCall(BIDI, ABORT, false);
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      assertEquals("7", trailers.header("grpc-status"));
      Frame rst = client.awaitFrame(f -> f.type() == RST_STREAM && f.streamId() == stream, WAIT);
      assertEquals(NO_ERROR, rst.errorCode());
      // One flush becomes one TLS record here, so both frames arrive in one read.
      assertEquals(trailers.readBatch(), rst.readBatch(), client.describeFrames());
      assertEquals(1, server.released(ReleaseCause.IMMEDIATE, 1));
    }
  }

  @Test
  void deferredResetAfterTheGraceOverTls() {
    Duration grace = Duration.ofMillis(300);
    try (GuardedTestServer server = GuardedTestServer.start(b -> b.resetGrace(grace), TestServers.tlsCredentials(), TestServers::withEcho);
        RawHttp2Client client = RawHttp2Client.connectTls("127.0.0.1", server.port())) {
      int stream = client.startCall(BIDI, ABORT, false);
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      Frame rst = client.awaitFrame(f -> f.type() == RST_STREAM && f.streamId() == stream, grace.plus(WAIT));
      assertEquals(NO_ERROR, rst.errorCode());
      assertTrue(rst.receivedNanos() - client.firstSentNanos(stream) >= grace.toNanos(),
          "reset before the grace ran out\n" + client.describeFrames());
      assertEquals(1, server.released(ReleaseCause.GRACE_EXPIRED, 1));
    }
  }

  @Test
  void wrappedInsecureCredentialsCarryTheGuard() throws Exception {
    expectImmediateResetThrough(InsecureServerCredentials.create(), false);
  }

  @Test
  void wrappedTlsCredentialsCarryTheGuard() throws Exception {
    ServerCredentials tls;
    try (InputStream cert = TestTls.certificate();
        InputStream key = TestTls.privateKey()) {
      tls = TlsServerCredentials.create(cert, key);
    }
    expectImmediateResetThrough(tls, true);
  }

  private static void expectImmediateResetThrough(ServerCredentials credentials, boolean tls) throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AbortGuard guard = AbortGuard.builder().properties(n -> null).reset(ResetPolicy.IMMEDIATE)
        .meterRegistry(registry).build();
    // A builder made elsewhere from wrapped credentials, with the call layer installed on it.
    NettyServerBuilder builder = TestServers.configure(NettyServerBuilder
        .forAddress(TestServers.LOOPBACK, guard.wrap(credentials))
        .addService(TestServers.echoService()));
    Server server = TestServers.start(guard.install(builder));
    try (RawHttp2Client client = tls
        ? RawHttp2Client.connectTls("127.0.0.1", server.getPort())
        : RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      int stream = client.startCall(BIDI, ABORT, false);
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      Frame rst = client.awaitFrame(f -> f.type() == RST_STREAM && f.streamId() == stream, WAIT);
      assertEquals(NO_ERROR, rst.errorCode());
      assertEquals(trailers.readBatch(), rst.readBatch(), client.describeFrames());
      assertEquals(1, GuardMeters.settle(() -> registry.get("grpc.server.streams.released").tag("cause", "immediate").counter().count(), 1));
      assertEquals(1, GuardMeters.settle(() -> registry.find("grpc.server.aborts").tag("statusCode", "PERMISSION_DENIED").counters().stream().mapToDouble(c -> c.count()).sum(), 1));
    } finally {
      TestServers.stop(server);
    }
  }
}
