package dev.abortguard.shaded;

import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.GuardMeters;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import dev.abortguard.testing.TestTls;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettySslContextServerCredentials;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/** The relocated guard in a grpc-netty-shaded server: each policy, TLS, credentials, shutdown. */
class ShadedServerWireTest {
  static final Duration GRACE = Duration.ofMillis(300);
  static final Duration WAIT = Duration.ofSeconds(5);
  static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");
  static final String BIDI = TestServers.path(TestServers.BIDI);

  final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  AbortGuard guard(ResetPolicy policy, Duration grace) {
    return AbortGuard.builder().properties(n -> null).reset(policy).resetGrace(grace).meterRegistry(registry).build();
  }

  /** docs/grpc-netty.md's one-line install, plaintext. */
  static NettyServerBuilder guarded(AbortGuard guard) {
    return guard.forAddress(TestServers.LOOPBACK, InsecureServerCredentials.create())
        .addService(TestServers.echoService());
  }

  static Server start(NettyServerBuilder builder) throws IOException {
    return builder.build().start();
  }

  static void stop(Server server) throws InterruptedException {
    server.shutdownNow();
    assertTrue(server.awaitTermination(5, TimeUnit.SECONDS));
  }

  static Predicate<Frame> rstOn(int stream) {
    return f -> f.type() == RST_STREAM && f.streamId() == stream;
  }

  /** Counted when the reset's write completes, which may be just after the client read it. */
  double released(String cause) {
    return GuardMeters.settle(() -> registry.get("grpc.server.streams.released").tag("cause", cause).counter().count(), 1);
  }

  /** Opens an aborted bidi call the client leaves open; returns its trailers. */
  static Frame abortedCall(RawHttp2Client client) {
    int stream = client.startCall(BIDI, ABORT, false);
    Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
    assertTrue(trailers.endStream(), client.describeFrames());
    assertEquals("7", trailers.header("grpc-status"), client.describeFrames());
    return trailers;
  }

  @ParameterizedTest
  @EnumSource(ResetPolicy.class)
  void eachPolicyOnTheWire(ResetPolicy policy) throws Exception {
    Server server = start(guarded(guard(policy, GRACE)));
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      long callStarted = System.nanoTime(); // the server cannot end the stream, nor start its grace, earlier
      Frame trailers = abortedCall(client);
      int stream = trailers.streamId();
      switch (policy) {
        case IMMEDIATE: {
          Frame rst = client.awaitFrame(rstOn(stream), WAIT);
          assertEquals(NO_ERROR, rst.errorCode());
          assertEquals(trailers.readBatch(), rst.readBatch(), client.describeFrames());
          assertEquals(1, released("immediate"));
          break;
        }
        case DEFERRED: {
          Frame rst = client.awaitFrame(rstOn(stream), GRACE.plus(WAIT));
          assertEquals(NO_ERROR, rst.errorCode());
          // A bound no scheduling delay can break: the grace starts after the call did.
          assertTrue(rst.receivedNanos() - callStarted >= GRACE.toNanos(),
              "reset before the grace ran out\n" + client.describeFrames());
          assertEquals(1, released("grace_expired"));
          break;
        }
        case NEVER:
          client.assertNoFrame(rstOn(stream), GRACE.multipliedBy(2));
          assertEquals(1, registry.get("grpc.server.streams.lingering").gauge().value());
          break;
        default:
          throw new AssertionError(policy);
      }
      assertEquals(1, GuardMeters.settle(() -> registry.find("grpc.server.aborts").tag("statusCode", "PERMISSION_DENIED")
          .counters().stream().mapToDouble(c -> c.count()).sum(), 1));
    } finally {
      stop(server);
    }
  }

  @Test
  void immediateOverTls() throws Exception {
    // TLS from an SslContext, through grpc-netty-shaded's own credentials for it.
    ServerCredentials tls;
    try (InputStream cert = TestTls.certificate();
        InputStream key = TestTls.privateKey()) {
      tls = NettySslContextServerCredentials.create(GrpcSslContexts.forServer(cert, key).build());
    }
    Server server = start(guard(ResetPolicy.IMMEDIATE, GRACE).forAddress(TestServers.LOOPBACK, tls)
        .addService(TestServers.echoService()));
    try (RawHttp2Client client = RawHttp2Client.connectTls("127.0.0.1", server.getPort())) {
      Frame trailers = abortedCall(client);
      Frame rst = client.awaitFrame(rstOn(trailers.streamId()), WAIT);
      assertEquals(NO_ERROR, rst.errorCode());
      assertEquals(trailers.readBatch(), rst.readBatch(), client.describeFrames());
    } finally {
      stop(server);
    }
  }

  @Test
  void wrappedCredentials() throws Exception {
    AbortGuard guard = guard(ResetPolicy.IMMEDIATE, GRACE);
    Server server = start(guard.install(NettyServerBuilder
        .forAddress(TestServers.LOOPBACK, guard.wrap(InsecureServerCredentials.create()))
        .addService(TestServers.echoService())));
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      Frame trailers = abortedCall(client);
      Frame rst = client.awaitFrame(rstOn(trailers.streamId()), WAIT);
      assertEquals(NO_ERROR, rst.errorCode());
      assertEquals(1, released("immediate"));
    } finally {
      stop(server);
    }
  }

  @Test
  void shutdownIsNotHeldUpByAPassivePeer() throws Exception {
    Server server = start(guarded(guard(ResetPolicy.DEFERRED, Duration.ofMinutes(1))));
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      Frame trailers = abortedCall(client);
      server.shutdown();
      assertTrue(server.awaitTermination(5, TimeUnit.SECONDS), client.describeFrames());
      client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      assertEquals(NO_ERROR, client.awaitFrame(rstOn(trailers.streamId()), WAIT).errorCode());
      assertEquals(1, released("shutdown"));
    } finally {
      stop(server);
    }
  }
}
