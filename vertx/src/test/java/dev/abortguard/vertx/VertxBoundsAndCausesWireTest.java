package dev.abortguard.vertx;

import static dev.abortguard.testing.EarlyCloseExpectations.rstOn;
import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.Await;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import io.vertx.core.http.Http2Settings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * What bounds a lingering stream on a guarded Vert.x gRPC server besides its peer, each cause
 * checked against the frames the raw client recorded: the per-connection cap ({@code overflow}),
 * the guard-wide cap ({@code total_limit}), the advertised MAX_CONCURRENT_STREAMS ({@code
 * stream_limit}, deferred only), the server's graceful shutdown ({@code shutdown}) and the client
 * closing its socket ({@code connection_closed}). Every reset the guard writes is
 * RST_STREAM(NO_ERROR), written once, and counted with its cause.
 */
class VertxBoundsAndCausesWireTest {
  static final Duration WAIT = Duration.ofSeconds(5);
  static final Duration LONG_GRACE = Duration.ofMinutes(1);
  static final UnaryOperator<AbortGuard.Builder> LONG_DEFERRED =
      b -> b.reset(ResetPolicy.DEFERRED).resetGrace(LONG_GRACE);
  static final String BIDI = TestServers.path(TestServers.BIDI);
  static final String UNARY = TestServers.path(TestServers.UNARY);

  /** A call the server aborts (PERMISSION_DENIED, trailers-only) and the client leaves open. */
  static int lingeringCall(RawHttp2Client client) {
    int stream = client.startCall(BIDI, Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"), false);
    Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
    assertTrue(trailers.endStream(), client.describeFrames());
    assertEquals("7", trailers.header("grpc-status"), client.describeFrames());
    return stream;
  }

  static int[] lingeringCalls(RawHttp2Client client, int count) {
    int[] streams = IntStream.range(0, count).map(i -> lingeringCall(client)).toArray();
    client.sync();
    return streams;
  }

  /** A unary call on {@code client}'s connection is answered with its request and status 0. */
  static void unaryEcho(RawHttp2Client client) {
    byte[] request = "ping".getBytes(StandardCharsets.UTF_8);
    int stream = client.startCall(UNARY, Map.of(), false);
    client.sendMessage(stream, request, true);
    Frame trailers = client.awaitFrame(f -> f.streamId() == stream && f.type() == HEADERS && f.endStream(), WAIT);
    assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
    assertArrayEquals(RawHttp2Client.lengthPrefixed(request), client.receivedData(stream), client.describeFrames());
  }

  static Frame assertOneNoErrorReset(RawHttp2Client client, int stream) {
    Frame rst = client.awaitFrame(rstOn(stream), WAIT);
    assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
    client.sync();
    List<Integer> types = client.frames(stream).stream().map(Frame::type).collect(Collectors.toList());
    assertEquals(List.of(HEADERS, RST_STREAM), types,
        "stream " + stream + ": the trailers, then one RST_STREAM\n" + client.describeFrames());
    return rst;
  }

  static void assertNotReset(RawHttp2Client client, int... streams) {
    for (int stream : streams) {
      client.assertNoFrame(rstOn(stream), Duration.ZERO);
    }
  }

  @Test
  void theEldestLingeringStreamIsResetPastTheConnectionCap() {
    try (VertxTestServer server = VertxTestServer.start(b -> LONG_DEFERRED.apply(b).lingeringMax(2));
        RawHttp2Client client = server.connect()) {
      int[] kept = lingeringCalls(client, 2);
      assertNotReset(client, kept);
      int third = lingeringCall(client);
      assertOneNoErrorReset(client, kept[0]);
      assertNotReset(client, kept[1], third);
      assertEquals(1, server.released(ReleaseCause.OVERFLOW, 1), client.describeFrames());
      assertEquals(1, server.releasedTotal(), client.describeFrames());
      assertEquals(2, server.lingering(), client.describeFrames());
      try (RawHttp2Client other = server.connect()) {
        assertNotReset(other, lingeringCalls(other, 2)); // the cap is per connection
        assertEquals(4, server.lingering(), other.describeFrames());
      }
      unaryEcho(client);
      assertNotReset(client, kept[1], third);
    }
  }

  @Test
  void theGuardWideCapResetsNewEarlyClosesAtOnce() {
    try (VertxTestServer server = VertxTestServer.start(b -> LONG_DEFERRED.apply(b).lingeringMaxTotal(1));
        RawHttp2Client second = server.connect()) {
      try (RawHttp2Client first = server.connect()) {
        int kept = lingeringCall(first);
        first.sync();
        assertEquals(1, server.lingering());
        int past = lingeringCall(second);
        second.awaitFrame(rstOn(past), WAIT);
        assertEquals(1, server.released(ReleaseCause.TOTAL_LIMIT, 1), second.describeFrames());
        assertEquals(1, server.lingering(), "the gauge never passes the cap\n" + second.describeFrames());
        assertOneNoErrorReset(second, past);
        first.sync();
        first.assertNoFrame(rstOn(kept), Duration.ZERO);
        unaryEcho(second);
      }
      Await.until("the first connection's stream released", () -> server.lingering() == 0, WAIT);
      assertEquals(1, server.released(ReleaseCause.CONNECTION_CLOSED, 1));
      int now = lingeringCall(second);
      second.sync();
      second.assertNoFrame(rstOn(now), Duration.ZERO);
      assertEquals(1, server.lingering(), "the budget came back with the closed connection");
    }
  }

  /**
   * MAX_CONCURRENT_STREAMS 2, deferred: the peer counts lingering streams against it, so once its
   * open streams reach it the eldest lingering stream is reset (NO_ERROR, {@code stream_limit}) and
   * new calls are served. Stock Vert.x refuses them instead (see the next test).
   */
  @Test
  void deferredFreesASlotWhenLingeringStreamsFillTheLimit() {
    try (VertxTestServer server = VertxTestServer.start(LONG_DEFERRED,
            o -> o.setInitialSettings(new Http2Settings().setMaxConcurrentStreams(2)));
        RawHttp2Client client = server.connect()) {
      int[] both = lingeringCalls(client, 2);
      assertOneNoErrorReset(client, both[0]);
      assertEquals(1, server.released(ReleaseCause.STREAM_LIMIT, 1), client.describeFrames());
      assertNotReset(client, both[1]);
      IntStream.range(0, 5).forEach(i -> unaryEcho(client));
      lingeringCall(client);
      unaryEcho(client);
      client.sync();
      client.assertNoFrame(f -> f.type() == GOAWAY || f.type() == RST_STREAM && f.errorCode() != NO_ERROR,
          Duration.ZERO);
      assertTrue(server.lingering() <= 1, "at most limit - 1 lingering: " + server.lingering());
    }
  }

  /** Stock Vert.x with MAX_CONCURRENT_STREAMS 2: two aborted calls left open, and the third call is refused. */
  @Test
  void stockVertxRefusesNewCallsOnceLingeringStreamsFillTheLimit() {
    try (VertxTestServer server = VertxTestServer.start(null,
            o -> o.setInitialSettings(new Http2Settings().setMaxConcurrentStreams(2)));
        RawHttp2Client client = server.connect()) {
      lingeringCalls(client, 2);
      int refused = client.startCall(UNARY, Map.of(), true);
      Frame rst = client.awaitFrame(rstOn(refused), WAIT);
      assertEquals(RawHttp2Client.REFUSED_STREAM, rst.errorCode(), client.describeFrames());
    }
  }

  @Test
  void neverFreesNoSlot() {
    try (VertxTestServer server = VertxTestServer.start(b -> b.reset(ResetPolicy.NEVER),
            o -> o.setInitialSettings(new Http2Settings().setMaxConcurrentStreams(3)));
        RawHttp2Client client = server.connect()) {
      int[] both = lingeringCalls(client, 2);
      unaryEcho(client);
      client.sync();
      assertNotReset(client, both);
      assertEquals(0, server.released(ReleaseCause.STREAM_LIMIT));
      assertEquals(2, server.lingering());
    }
  }

  /**
   * A graceful shutdown with lingering streams: Vert.x sends GOAWAY(NO_ERROR) and waits for its
   * streams; the guard resets each lingering one after the GOAWAY ({@code shutdown}), so the
   * connection closes and the shutdown returns long before its timeout.
   */
  @Test
  void shutdownResetsLingeringStreamsAfterTheGoAway() {
    try (VertxTestServer server = VertxTestServer.start(LONG_DEFERRED);
        RawHttp2Client client = server.connect()) {
      int[] streams = lingeringCalls(client, 2);
      assertEquals(2, server.lingering());
      long millis = shutdownMillis(server, 20);
      Frame goAway = client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      assertEquals(NO_ERROR, goAway.errorCode(), client.describeFrames());
      assertTrue(client.awaitClosed(WAIT), "the server closes the connection\n" + client.describeFrames());
      for (int stream : streams) {
        List<Frame> frames = client.frames(stream);
        assertEquals(List.of(HEADERS, RST_STREAM), frames.stream().map(Frame::type).collect(Collectors.toList()),
            "the trailers, then one RST_STREAM\n" + client.describeFrames());
        assertEquals(NO_ERROR, frames.get(1).errorCode(), client.describeFrames());
        assertTrue(client.frames().indexOf(frames.get(1)) > client.frames().indexOf(goAway), client.describeFrames());
      }
      assertEquals(2, server.released(ReleaseCause.SHUTDOWN, 2), client.describeFrames());
      assertEquals(2, server.releasedTotal(), client.describeFrames());
      assertEquals(0, server.lingering());
      System.out.printf("[vertx bounds] shutdown(20 s) with 2 lingering streams (deferred): returned in %d ms%n",
          millis);
      assertTrue(millis < 3000, "shutdown took " + millis + " ms");
    }
  }

  /**
   * The application's own GOAWAY on one connection ({@code HttpConnection.goAway(NO_ERROR)}):
   * lingering streams are reset after it with NO_ERROR, counted as {@code goaway}.
   */
  @Test
  void anApplicationGoAwayResetsLingeringStreams() {
    try (VertxTestServer server = VertxTestServer.start(LONG_DEFERRED);
        RawHttp2Client client = server.connect()) {
      int[] streams = lingeringCalls(client, 2);
      assertEquals(1, server.connections().size());
      server.connections().get(0).goAway(0);
      Frame goAway = client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      assertEquals(NO_ERROR, goAway.errorCode(), client.describeFrames());
      for (int stream : streams) {
        Frame reset = client.awaitFrame(rstOn(stream), WAIT);
        assertEquals(NO_ERROR, reset.errorCode(), client.describeFrames());
        assertTrue(client.frames().indexOf(reset) > client.frames().indexOf(goAway), client.describeFrames());
      }
      assertEquals(2, server.released(ReleaseCause.GOAWAY, 2), client.describeFrames());
      assertEquals(0, server.lingering());
    }
  }

  /** Stock Vert.x: the same shutdown waits out its whole timeout, the stream never closes. */
  @Test
  void stockShutdownWaitsItsWholeTimeout() {
    try (VertxTestServer server = VertxTestServer.startStock();
        RawHttp2Client client = server.connect()) {
      int[] streams = lingeringCalls(client, 1);
      long millis = shutdownMillis(server, 2);
      System.out.printf("[vertx bounds] stock shutdown(2 s) with 1 lingering stream: returned in %d ms%n", millis);
      assertTrue(millis >= 1900, "stock Vert.x waited " + millis + " ms");
      assertNotReset(client, streams);
    }
  }

  /** Under never the shutdown resets nothing: the lingering stream is the peer's to end, and then it returns. */
  @Test
  void shutdownUnderNeverWaitsForThePeer() {
    try (VertxTestServer server = VertxTestServer.start(b -> b.reset(ResetPolicy.NEVER));
        RawHttp2Client client = server.connect()) {
      int stream = lingeringCalls(client, 1)[0];
      CompletableFuture<Void> done = server.server.shutdown(20, TimeUnit.SECONDS)
          .toCompletionStage().toCompletableFuture();
      client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      client.assertNoFrame(rstOn(stream), Duration.ofMillis(300));
      assertFalse(done.isDone(), "held up by the lingering stream, as policy never says");
      client.sendData(stream, new byte[0], true);
      VertxTestServer.await(done);
      assertEquals(1, server.released(ReleaseCause.PEER_END_STREAM, 1), client.describeFrames());
      assertEquals(0, server.lingering());
    }
  }

  static long shutdownMillis(VertxTestServer server, int timeoutSeconds) {
    long started = System.nanoTime();
    try {
      server.server.shutdown(timeoutSeconds, TimeUnit.SECONDS).toCompletionStage().toCompletableFuture()
          .get(timeoutSeconds + 5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("shutdown did not complete", e);
    }
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
  }

  /** The client closing its socket releases every lingering stream as {@code connection_closed}. */
  @Test
  void aClosedSocketReleasesAsConnectionClosed() {
    Duration grace = Duration.ofMillis(300);
    try (VertxTestServer server = VertxTestServer.start(b -> b.resetGrace(grace))) {
      RawHttp2Client closing = server.connect();
      lingeringCalls(closing, 3);
      assertEquals(3, server.lingering(), closing.describeFrames());
      closing.close();
      Await.until("lingering = 0", () -> server.lingering() == 0, WAIT);
      assertEquals(3, server.released(ReleaseCause.CONNECTION_CLOSED, 3));
      assertEquals(3, server.releasedTotal(), "nothing counted as a reset");
      try (RawHttp2Client later = server.connect()) {
        assertOneNoErrorReset(later, lingeringCall(later));
      }
      assertEquals(1, server.released(ReleaseCause.GRACE_EXPIRED, 1));
      assertEquals(4, server.releasedTotal());
    }
  }

  /** A client's GOAWAY and close: the server's close() (no grace) releases as connection_closed, no reset counted. */
  @Test
  void serverCloseReleasesAsConnectionClosed() {
    VertxTestServer server = VertxTestServer.start(LONG_DEFERRED);
    try (RawHttp2Client client = server.connect()) {
      lingeringCalls(client, 2);
      server.close();
      assertTrue(client.awaitClosed(WAIT), client.describeFrames());
      Await.until("lingering = 0", () -> server.lingering() == 0, WAIT);
      assertEquals(2, server.releasedTotal(), client.describeFrames());
    }
  }
}
