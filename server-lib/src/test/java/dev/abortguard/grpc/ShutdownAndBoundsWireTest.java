package dev.abortguard.grpc;

import static dev.abortguard.testing.EarlyCloseExpectations.rstOn;
import dev.abortguard.testing.Await;
import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import io.grpc.InsecureServerCredentials;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What bounds a lingering stream besides its peer: server shutdown, the per-connection cap, and
 * the connection closing.
 */
class ShutdownAndBoundsWireTest {
  static final Duration WAIT = Duration.ofSeconds(5);
  static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");
  static final String BIDI = TestServers.path(TestServers.BIDI);

  /** Opens an aborted bidi call that the client leaves open, and waits for its trailers. */
  static int lingeringCall(RawHttp2Client client) {
    int stream = client.startCall(BIDI, ABORT, false);
    Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
    assertTrue(trailers.endStream(), client.describeFrames());
    return stream;
  }

  @Test
  void stockGrpcJavaShutdownWaitsForAPassivePeer() throws Exception {
    try (GuardedTestServer server = GuardedTestServer.start(b -> b.enabled(false));
        RawHttp2Client client = server.connect()) {
      int stream = lingeringCall(client);
      server.server.shutdown();
      client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      assertFalse(server.server.awaitTermination(2, TimeUnit.SECONDS),
          "stock grpc-java is expected to wait for the half-open stream");
      client.assertNoFrame(rstOn(stream), Duration.ZERO);
    }
  }

  @Test
  void deferredResetsLingeringStreamsWhenTheServerShutsDown() throws Exception {
    try (GuardedTestServer server = GuardedTestServer.start(b -> b.reset(ResetPolicy.DEFERRED).resetGrace(Duration.ofMinutes(1)));
        RawHttp2Client client = server.connect()) {
      int first = lingeringCall(client);
      int second = lingeringCall(client);
      client.sync();
      assertEquals(2, server.lingering());

      long started = System.nanoTime();
      server.server.shutdown();
      assertTrue(server.server.awaitTermination(5, TimeUnit.SECONDS),
          "shutdown held up by lingering streams\n" + client.describeFrames());
      long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

      Frame goAway = client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      for (int stream : new int[] {first, second}) {
        Frame rst = client.awaitFrame(rstOn(stream), WAIT);
        assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
        assertTrue(rst.receivedNanos() >= goAway.receivedNanos(), "reset after GOAWAY\n" + client.describeFrames());
      }
      assertTrue(client.awaitClosed(WAIT), "server closes the connection");
      assertEquals(2, server.released(ReleaseCause.SHUTDOWN, 2));
      assertEquals(0, server.lingering());
      assertTrue(tookMillis < 5000, "shutdown took " + tookMillis + " ms");
    }
  }

  @Test
  void neverKeepsStreamsThroughShutdownLikeStock() throws Exception {
    try (GuardedTestServer server = GuardedTestServer.start(b -> b.reset(ResetPolicy.NEVER));
        RawHttp2Client client = server.connect()) {
      int stream = lingeringCall(client);
      server.server.shutdown();
      client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      assertFalse(server.server.awaitTermination(1, TimeUnit.SECONDS));
      client.assertNoFrame(rstOn(stream), Duration.ZERO);
      assertEquals(1, server.lingering());
      // The peer ending the stream lets shutdown finish.
      client.sendData(stream, new byte[0], true);
      assertTrue(server.server.awaitTermination(5, TimeUnit.SECONDS), client.describeFrames());
      assertEquals(1, server.released(ReleaseCause.PEER_END_STREAM, 1));
    }
  }

  /** {@code test.Hold/Bidi}: answers nothing and completes OK when a message arrives. */
  static final MethodDescriptor<byte[], byte[]> FINISH_ON_MESSAGE = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
      .setFullMethodName("test.Hold/Bidi")
      .setRequestMarshaller(TestServers.bytesMarshaller())
      .setResponseMarshaller(TestServers.bytesMarshaller())
      .build();

  static ServerServiceDefinition finishOnMessageService() {
    return ServerServiceDefinition.builder("test.Hold")
        .addMethod(FINISH_ON_MESSAGE, ServerCalls.asyncBidiStreamingCall(responses -> new StreamObserver<byte[]>() {
          @Override
          public void onNext(byte[] value) {
            responses.onCompleted();
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {}
        }))
        .build();
  }

  @Test
  void callsEndedAfterGoAwayAreResetAtOnce() throws Exception {
    try (GuardedTestServer server = GuardedTestServer.start(
            b -> b.reset(ResetPolicy.DEFERRED).resetGrace(Duration.ofMinutes(1)), InsecureServerCredentials.create(),
            b -> b.addService(TestServers.echoService()).addService(finishOnMessageService()));
        RawHttp2Client client = server.connect()) {
      int stream = client.startCall("/" + FINISH_ON_MESSAGE.getFullMethodName(), Map.of(), false);
      client.sync();
      server.server.shutdown();
      client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      // The call is still running, so the connection stays up; now the server ends it while the
      // client is still open, which under shutdown is reset at once rather than after the grace.
      client.sendMessage(stream, new byte[] {1}, false);
      Frame trailers = client.awaitFrame(f -> f.streamId() == stream && f.type() == HEADERS && f.endStream(), WAIT);
      assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
      Frame rst = client.awaitFrame(rstOn(stream), WAIT);
      assertEquals(NO_ERROR, rst.errorCode());
      assertTrue(rst.receivedNanos() - trailers.receivedNanos() < TimeUnit.SECONDS.toNanos(1), client.describeFrames());
      assertTrue(server.server.awaitTermination(5, TimeUnit.SECONDS), client.describeFrames());
      assertEquals(1, server.released(ReleaseCause.SHUTDOWN, 1));
      assertEquals(0, server.aborts(), "an OK completion is no abort");
    }
  }

  @Test
  void theOldestLingeringStreamIsResetPastTheCap() {
    try (GuardedTestServer server = GuardedTestServer.start(b -> b.lingeringMax(2).resetGrace(Duration.ofMinutes(1)));
        RawHttp2Client client = server.connect()) {
      int first = lingeringCall(client);
      int second = lingeringCall(client);
      client.sync();
      client.assertNoFrame(f -> f.type() == RST_STREAM, Duration.ZERO);

      int third = lingeringCall(client);
      Frame rst = client.awaitFrame(rstOn(first), WAIT);
      assertEquals(NO_ERROR, rst.errorCode());
      client.sync();
      client.assertNoFrame(rstOn(second).or(rstOn(third)), Duration.ZERO);
      assertEquals(1, server.released(ReleaseCause.OVERFLOW, 1));
      assertEquals(2, server.lingering());

      // The cap is per connection: another connection starts from zero.
      try (RawHttp2Client other = server.connect()) {
        int elsewhere = lingeringCall(other);
        other.sync();
        other.assertNoFrame(rstOn(elsewhere), Duration.ZERO);
        assertEquals(3, server.lingering());
      }
    }
  }

  @Test
  void aClosedConnectionForgetsItsStreamsAndTimers() {
    Duration grace = Duration.ofMillis(300);
    try (GuardedTestServer server = GuardedTestServer.start(b -> b.resetGrace(grace))) {
      try (RawHttp2Client client = server.connect()) {
        for (int i = 0; i < 3; i++) {
          lingeringCall(client);
        }
        client.sync();
        assertEquals(3, server.lingering());
      }
      Await.until("lingering streams released", () -> server.lingering() == 0, WAIT);
      assertEquals(3, server.released(ReleaseCause.CONNECTION_CLOSED, 3));

      // Past the grace, the cancelled timer has reset nothing.
      try (RawHttp2Client probe = server.connect()) {
        int stream = lingeringCall(probe);
        probe.awaitFrame(rstOn(stream), grace.plus(WAIT));
      }
      assertEquals(1, server.released(ReleaseCause.GRACE_EXPIRED, 1), "only the probe's stream expired");
      assertEquals(3, server.released(ReleaseCause.CONNECTION_CLOSED, 3));
    }
  }
}
