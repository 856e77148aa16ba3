package dev.abortguard.okhttp;

import static dev.abortguard.okhttp.OkHttpTestServer.WAIT;
import static dev.abortguard.okhttp.OkHttpTestServer.lingeringCall;
import static dev.abortguard.okhttp.OkHttpTestServer.unaryEcho;
import static dev.abortguard.testing.EarlyCloseExpectations.rstOn;
import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static dev.abortguard.testing.RawHttp2Client.SETTINGS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.Await;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.okhttp.OkHttpServerBuilder;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * What bounds a lingering stream on a guarded grpc-okhttp server besides its peer, each cause
 * checked against the frames the raw client recorded: the per-connection cap ({@code overflow}),
 * the guard-wide cap ({@code total_limit}), {@code maxConcurrentCallsPerConnection} ({@code
 * stream_limit}, deferred only), the server's GOAWAY ({@code shutdown}: server shutdown and max
 * connection age alike), and the client closing its socket ({@code connection_closed}). Every
 * reset the guard writes is RST_STREAM(NO_ERROR), written once, and counted with its cause.
 */
class OkHttpBoundsAndCausesWireTest {
  static final Duration LONG_GRACE = Duration.ofMinutes(1);
  static final UnaryOperator<AbortGuard.Builder> LONG_DEFERRED =
      b -> b.reset(ResetPolicy.DEFERRED).resetGrace(LONG_GRACE);

  /** The stream's frames are its trailers then exactly one RST_STREAM(NO_ERROR); returns the reset. */
  static Frame assertOneNoErrorReset(RawHttp2Client client, int stream) {
    Frame rst = client.awaitFrame(rstOn(stream), WAIT);
    assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
    client.sync();
    List<Integer> types = client.frames(stream).stream().map(Frame::type).collect(Collectors.toList());
    assertEquals(List.of(HEADERS, RST_STREAM), types,
        "stream " + stream + ": the trailers, then one RST_STREAM\n" + client.describeFrames());
    return rst;
  }

  /** {@code count} calls the server aborts and the client leaves open, after their trailers and a PING. */
  static int[] lingeringCalls(RawHttp2Client client, int count) {
    int[] streams = new int[count];
    for (int i = 0; i < count; i++) {
      streams[i] = lingeringCall(client);
    }
    client.sync();
    return streams;
  }

  /** No RST_STREAM so far on any of {@code streams}. */
  static void assertNotReset(RawHttp2Client client, int... streams) {
    for (int stream : streams) {
      client.assertNoFrame(rstOn(stream), Duration.ZERO);
    }
  }

  /** A GOAWAY(NO_ERROR) came, then exactly one RST_STREAM(NO_ERROR) on each of {@code streams}. */
  static void assertResetAfterTheGoAway(RawHttp2Client client, int... streams) {
    Frame goAway = client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
    assertEquals(NO_ERROR, goAway.errorCode(), client.describeFrames());
    List<Frame> all = client.frames();
    for (int stream : streams) {
      Frame reset = client.awaitFrame(rstOn(stream), WAIT);
      assertEquals(NO_ERROR, reset.errorCode(), client.describeFrames());
      assertTrue(client.frames().indexOf(reset) > all.indexOf(goAway), "reset after the GOAWAY\n"
          + client.describeFrames());
    }
  }

  /**
   * lingeringMax(2): a third lingering stream resets the eldest at once ({@code overflow}), one
   * RST_STREAM(NO_ERROR), the others untouched; the cap is per connection.
   */
  @Test
  void theEldestLingeringStreamIsResetPastTheConnectionCap() {
    try (OkHttpTestServer server = OkHttpTestServer.start(b -> LONG_DEFERRED.apply(b).lingeringMax(2));
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

  /**
   * lingeringMaxTotal(1) across two connections: the second connection's early close is reset at
   * once ({@code total_limit}) with one RST_STREAM(NO_ERROR); once the first connection closes
   * its budget is free again.
   */
  @Test
  void theGuardWideCapResetsNewEarlyClosesAtOnce() {
    try (OkHttpTestServer server = OkHttpTestServer.start(b -> LONG_DEFERRED.apply(b).lingeringMaxTotal(1));
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
   * maxConcurrentCallsPerConnection(2), deferred: the peer counts lingering streams against the
   * limit grpc-okhttp advertised, so once its open streams reach it the eldest lingering stream is
   * reset (NO_ERROR, {@code stream_limit}) and new calls are served. (Netty's version: {@code
   * ReleaseCausesWireTest.lingeringStreamsDoNotCostNewCallsTheirSlots}.)
   */
  @Test
  void deferredFreesASlotWhenLingeringStreamsFillTheLimit() {
    try (OkHttpTestServer server = OkHttpTestServer.start(LONG_DEFERRED, InsecureServerCredentials.create(),
            b -> b.maxConcurrentCallsPerConnection(2));
        RawHttp2Client client = server.connect()) {
      assertEquals(2, maxConcurrentStreams(client), client.describeFrames());
      int[] both = lingeringCalls(client, 2);
      assertOneNoErrorReset(client, both[0]);
      assertEquals(1, server.released(ReleaseCause.STREAM_LIMIT, 1), client.describeFrames());
      assertNotReset(client, both[1]);
      assertEquals(1, server.lingering(), client.describeFrames());
      // Unary calls, then one more lingering stream and a last call: all served, nothing refused.
      IntStream.range(0, 5).forEach(i -> unaryEcho(client));
      lingeringCall(client);
      unaryEcho(client);
      client.sync();
      client.assertNoFrame(f -> f.type() == GOAWAY || f.type() == RST_STREAM && f.errorCode() != NO_ERROR,
          Duration.ZERO);
      assertTrue(server.lingering() <= 1, "at most limit - 1 lingering: " + server.lingering());
      System.out.printf("[okhttp bounds] maxConcurrentCallsPerConnection(2), deferred: stream_limit %.0f after"
          + " 3 lingering calls and 6 unary calls%n", server.released(ReleaseCause.STREAM_LIMIT));
    }
  }

  /**
   * maxConcurrentCallsPerConnection(1), deferred: a stream that lingers takes the only slot, so it
   * is itself the eldest to free as it ends: one RST_STREAM(NO_ERROR) with the trailers, counted
   * as {@code stream_limit}, and the next call is served.
   */
  @Test
  void aLimitOfOneResetsTheStreamAsItEnds() {
    try (OkHttpTestServer server = OkHttpTestServer.start(LONG_DEFERRED, InsecureServerCredentials.create(),
            b -> b.maxConcurrentCallsPerConnection(1));
        RawHttp2Client client = server.connect()) {
      int stream = lingeringCall(client);
      client.awaitFrame(rstOn(stream), WAIT);
      assertEquals(1, server.released(ReleaseCause.STREAM_LIMIT, 1), client.describeFrames());
      assertEquals(0, server.lingering(), client.describeFrames());
      assertOneNoErrorReset(client, stream);
      unaryEcho(client);
    }
  }

  /**
   * Under never nothing is freed: both lingering streams keep their slots. grpc-okhttp itself does
   * not count them (it forgot them), so a client that ignores the advertised limit, like the raw
   * one, is still served; a client that respects it would wait.
   */
  @Test
  void neverFreesNoSlot() {
    try (OkHttpTestServer server = OkHttpTestServer.start(b -> b.reset(ResetPolicy.NEVER),
            InsecureServerCredentials.create(), b -> b.maxConcurrentCallsPerConnection(2));
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
   * server.shutdown() with lingering streams: grpc-okhttp has forgotten them, so its GOAWAY(NO_ERROR)
   * comes at once; the guard resets each lingering stream after it ({@code shutdown}), grpc-okhttp
   * closes the connection after its second GOAWAY, and termination is not held up.
   */
  @Test
  void shutdownResetsLingeringStreamsAfterTheGoAway() throws Exception {
    try (OkHttpTestServer server = OkHttpTestServer.start(LONG_DEFERRED);
        RawHttp2Client client = server.connect()) {
      int[] streams = lingeringCalls(client, 2);
      assertEquals(2, server.lingering());
      long millis = shutdownMillis(server);
      assertResetAfterTheGoAway(client, streams);
      for (int stream : streams) {
        assertEquals(1, client.frames(stream).stream().filter(rstOn(stream)).count(), client.describeFrames());
      }
      assertTrue(client.awaitClosed(WAIT), "the server closes the connection\n" + client.describeFrames());
      assertEquals(2, server.released(ReleaseCause.SHUTDOWN, 2), client.describeFrames());
      assertEquals(2, server.releasedTotal(), client.describeFrames());
      assertEquals(0, server.lingering());
      System.out.printf("[okhttp bounds] shutdown with 2 lingering streams (deferred): terminated in %d ms%n", millis);
      assertTrue(millis < 3000, "shutdown took " + millis + " ms");
    }
  }

  /** Shuts {@code server} down gracefully; how long it took to terminate (at most 5 s, else fails). */
  static long shutdownMillis(OkHttpTestServer server) throws InterruptedException {
    long started = System.nanoTime();
    server.server.shutdown();
    assertTrue(server.server.awaitTermination(5, TimeUnit.SECONDS), "shutdown held up for 5 s");
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
  }

  /**
   * Under never the GOAWAY resets nothing; grpc-okhttp, which has no call open, closes the
   * connection after its second GOAWAY, releasing the stream as {@code connection_closed}. Unlike
   * grpc-netty, nothing holds the shutdown up.
   */
  @Test
  void shutdownUnderNeverClosesTheConnection() throws Exception {
    try (OkHttpTestServer server = OkHttpTestServer.start(b -> b.reset(ResetPolicy.NEVER));
        RawHttp2Client client = server.connect()) {
      int[] stream = lingeringCalls(client, 1);
      long millis = shutdownMillis(server);
      client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      assertTrue(client.awaitClosed(WAIT), client.describeFrames());
      assertNotReset(client, stream);
      assertEquals(1, server.released(ReleaseCause.CONNECTION_CLOSED, 1), client.describeFrames());
      assertEquals(0, server.lingering());
      System.out.printf("[okhttp bounds] shutdown with 1 lingering stream (never): terminated in %d ms%n", millis);
    }
  }

  /** {@code test.Hold/Bidi}: answers nothing until a message arrives, then ends OK at once. */
  static final MethodDescriptor<byte[], byte[]> FINISH_ON_MESSAGE =
      TestServers.BIDI.toBuilder().setFullMethodName("test.Hold/Bidi").build();

  static OkHttpServerBuilder withFinishOnMessage(OkHttpServerBuilder builder) {
    ServerCallHandler<byte[], byte[]> finishOnMessage = (call, headers) -> {
      call.request(1);
      return new ServerCall.Listener<byte[]>() {
        @Override
        public void onMessage(byte[] message) {
          call.close(Status.OK, new Metadata());
        }
      };
    };
    return builder.addService(ServerServiceDefinition.builder("test.Hold")
        .addMethod(FINISH_ON_MESSAGE, finishOnMessage).build());
  }

  /**
   * A call running through the GOAWAY keeps the connection up; when the server ends it while the
   * client is still open it is reset at once ({@code shutdown}), with one RST_STREAM(NO_ERROR).
   */
  @Test
  void aCallEndedAfterTheGoAwayIsResetAtOnce() throws Exception {
    try (OkHttpTestServer server = OkHttpTestServer.start(LONG_DEFERRED, InsecureServerCredentials.create(),
            OkHttpBoundsAndCausesWireTest::withFinishOnMessage);
        RawHttp2Client client = server.connect()) {
      int running = client.startCall("/" + FINISH_ON_MESSAGE.getFullMethodName(), Map.of(), false);
      client.sync();
      server.server.shutdown();
      // The running call keeps the connection up past the GOAWAYs; then the server ends it OK.
      client.sendMessage(running, new byte[] {1}, false);
      assertResetAfterTheGoAway(client, running);
      Frame ended = client.awaitFrame(f -> f.streamId() == running && f.type() == HEADERS && f.endStream(), WAIT);
      assertEquals("0", ended.header("grpc-status"), client.describeFrames());
      assertTrue(server.server.awaitTermination(5, TimeUnit.SECONDS), client.describeFrames());
      assertEquals(1, server.released(ReleaseCause.SHUTDOWN, 1), client.describeFrames());
      assertEquals(1, server.releasedTotal(), client.describeFrames());
      assertEquals(0, server.aborts(), "an OK completion is no abort");
      assertEquals(0, server.lingering());
      assertEquals(1, client.frames(running).stream().filter(rstOn(running)).count(),
          "one RST_STREAM on the stream\n" + client.describeFrames());
    }
  }

  /** Max connection age: grpc-okhttp's GOAWAY(NO_ERROR) resets a lingering stream as {@code shutdown} too. */
  @Test
  void aMaxAgeGoAwayResetsLingeringStreams() {
    try (OkHttpTestServer server = OkHttpTestServer.start(LONG_DEFERRED, InsecureServerCredentials.create(),
            b -> b.maxConnectionAge(500, TimeUnit.MILLISECONDS).maxConnectionAgeGrace(1, TimeUnit.MINUTES));
        RawHttp2Client client = server.connect()) {
      assertResetAfterTheGoAway(client, lingeringCall(client));
      assertEquals(1, server.released(ReleaseCause.SHUTDOWN, 1), client.describeFrames());
      assertEquals(0, server.released(ReleaseCause.GOAWAY), "grpc-okhttp's GOAWAYs all count as shutdown");
    }
  }

  /**
   * The client closing its socket releases every lingering stream as {@code connection_closed},
   * counts no reset, and cancels the connection's grace timer.
   */
  @Test
  void aClosedSocketReleasesAsConnectionClosed() {
    Duration grace = Duration.ofMillis(300);
    try (OkHttpTestServer server = OkHttpTestServer.start(b -> b.resetGrace(grace))) {
      RawHttp2Client closing = server.connect();
      lingeringCalls(closing, 3);
      assertEquals(3, server.lingering(), closing.describeFrames());
      closing.close();
      Await.until("lingering = 0", () -> server.lingering() == 0, WAIT);
      assertEquals(3, server.released(ReleaseCause.CONNECTION_CLOSED, 3));
      assertEquals(3, server.releasedTotal(), "nothing counted as a reset");
      // The connection's grace timer went with it: past the grace only a later stream expires.
      try (RawHttp2Client later = server.connect()) {
        assertOneNoErrorReset(later, lingeringCall(later));
      }
      assertEquals(1, server.released(ReleaseCause.GRACE_EXPIRED, 1));
      assertEquals(4, server.releasedTotal());
      assertEquals(4, server.lingerTimings(), "the linger timer saw every release");
    }
  }

  /** SETTINGS_MAX_CONCURRENT_STREAMS from the server's first SETTINGS, or -1. */
  static long maxConcurrentStreams(RawHttp2Client client) {
    Frame settings = client.awaitFrame(f -> f.type() == SETTINGS && !f.ack(), WAIT);
    ByteBuffer payload = ByteBuffer.wrap(settings.payload());
    while (payload.remaining() >= 6) {
      int id = payload.getShort() & 0xffff;
      long value = payload.getInt() & 0xffffffffL;
      if (id == 0x3) {
        return value;
      }
    }
    return -1;
  }
}
