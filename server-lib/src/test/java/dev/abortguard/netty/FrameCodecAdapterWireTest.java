package dev.abortguard.netty;

import static dev.abortguard.testing.EarlyCloseExpectations.assertTrailersOnly;
import dev.abortguard.testing.EarlyCloseExpectations;
import static dev.abortguard.testing.EarlyCloseExpectations.rstOn;
import dev.abortguard.testing.EarlyCloseExpectations.Peer;
import static dev.abortguard.testing.RawHttp2Client.CANCEL;
import static dev.abortguard.testing.RawHttp2Client.DATA;
import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.REFUSED_STREAM;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static dev.abortguard.testing.RawHttp2Client.SETTINGS;
import static dev.abortguard.testing.RawHttp2Client.STREAM_CLOSED;
import static dev.abortguard.testing.RawHttp2Client.WINDOW_UPDATE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import io.netty.channel.group.ChannelGroupFuture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.NullSource;

/**
 * The {@code Http2FrameCodec} adapter ({@link EarlyCloseFrameHandler}) on the wire: a plain Netty
 * server whose child stream channels close themselves after trailers-only, as typical Netty gRPC
 * code does, seen through a raw HTTP/2 client that records every frame.
 */
@ExtendWith(LeakDetectionExtension.class)
class FrameCodecAdapterWireTest {
  static final Duration GRACE = Duration.ofMillis(400);
  static final Duration WAIT = Duration.ofSeconds(5);
  static final String PATH = TestServers.path(TestServers.BIDI);
  static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");
  /** A pipeline without the guard's handler. */

  enum Stock {
    NO_GUARD_HANDLER,
    DISABLED_GUARD
  }

  static final Map<ResetPolicy, FrameCodecTestServer> servers = new EnumMap<>(ResetPolicy.class);

  @BeforeAll
  static void startServers() {
    for (ResetPolicy policy : ResetPolicy.values()) {
      servers.put(policy, FrameCodecTestServer.start(b -> b.reset(policy).resetGrace(GRACE)));
    }
  }

  @AfterAll
  static void stopServers() {
    servers.values().forEach(FrameCodecTestServer::close);
  }

  // ------------------------------------------------------------------------------------- stock

  /**
   * Without the guard, the child's close after its trailers writes RST_STREAM(CANCEL) at once: the
   * pattern old HAProxy turns into a CANCELLED status. Prints how close behind the trailers the
   * CANCEL arrives.
   */
  @ParameterizedTest
  @EnumSource(Stock.class)
  void stockChildCloseSendsCancelRightAfterTheTrailers(Stock stock) {
    try (FrameCodecTestServer server = stock == Stock.NO_GUARD_HANDLER
            ? FrameCodecTestServer.startStock()
            : FrameCodecTestServer.start(b -> b.enabled(false));
        RawHttp2Client client = server.connect()) {
      client.sync();
      assertEquals(List.of(List.of("Http2FrameCodec", "Http2MultiplexHandler")), server.connectionPipelines(),
          "a stock pipeline, and a disabled guard's handler has removed itself");

      int samples = 20;
      int sameBatch = 0;
      List<Long> gapsMicros = new ArrayList<>();
      for (int i = 0; i < samples; i++) {
        int stream = client.startCall(PATH, ABORT, false);
        Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
        assertTrailersOnly(client, stream, trailers);
        Frame rst = client.awaitFrame(rstOn(stream), Duration.ofMillis(500));
        assertEquals(CANCEL, rst.errorCode(), client.describeFrames());
        long gap = rst.receivedNanos() - trailers.receivedNanos();
        assertTrue(gap < TimeUnit.MILLISECONDS.toNanos(500), "CANCEL " + gap + " ns after the trailers\n"
            + client.describeFrames());
        assertEquals(List.of(trailers, rst), client.frames(stream), "trailers then CANCEL, nothing else\n"
            + client.describeFrames());
        if (rst.readBatch() == trailers.readBatch()) {
          sameBatch++;
        }
        gapsMicros.add(TimeUnit.NANOSECONDS.toMicros(gap));
      }
      System.out.printf("[%s] stock RST_STREAM(CANCEL) after trailers-only: %d/%d in the trailers' read batch;"
          + " gaps (us) %s%n", stock, sameBatch, samples, gapsMicros);
      assertTrue(server.registry.getMeters().isEmpty(), "no guard meters: " + server.registry.getMeters());
    }
  }

  // ------------------------------------------------------------------------ policy × peer matrix

  @ParameterizedTest(name = "{0} peer {1}")
  @MethodSource("dev.abortguard.testing.EarlyCloseExpectations#policiesAndPeers")
  void abortThenPeer(ResetPolicy policy, Peer peer) {
    FrameCodecTestServer server = servers.get(policy);
    try (RawHttp2Client client = server.connect()) {
      EarlyCloseExpectations.abortThenPeer(server, client, PATH, policy, peer, GRACE);
    }
  }

  // ---------------------------------------------------------------------------------- other resets

  /**
   * A child that closes before it sent END_STREAM resets the stream with CANCEL, and that reset is
   * not the guard's business under any policy. ({@code null} is a stock pipeline.)
   */
  @ParameterizedTest(name = "{0}")
  @NullSource
  @EnumSource(ResetPolicy.class)
  void aChildClosedBeforeEndStreamResetsWithCancelUntouched(ResetPolicy policy) {
    FrameCodecTestServer stock = policy == null ? FrameCodecTestServer.startStock() : null;
    FrameCodecTestServer server = policy == null ? stock : servers.get(policy);
    try (RawHttp2Client client = server.connect()) {
      double releasedBefore = server.releasedTotal();
      int stream = client.startCall(PATH, Map.of(FrameCodecTestServer.RESET_EARLY_HEADER, "true"), false);
      Frame rst = client.awaitFrame(rstOn(stream), WAIT);
      assertEquals(CANCEL, rst.errorCode(), client.describeFrames());
      client.sync();
      assertEquals(List.of(rst), client.frames(stream), "the CANCEL alone\n" + client.describeFrames());
      assertEquals(0, server.lingering(), client.describeFrames());
      assertEquals(0, server.releasedTotal() - releasedBefore, "never lingered\n" + client.describeFrames());
    } finally {
      if (stock != null) {
        stock.close();
      }
    }
  }

  // --------------------------------------------------------------------------------------- bounds

  @Test
  void theOldestLingeringStreamIsResetPastTheCap() {
    try (FrameCodecTestServer server = FrameCodecTestServer.start(
            b -> b.reset(ResetPolicy.DEFERRED).lingeringMax(2).resetGrace(Duration.ofMinutes(1)));
        RawHttp2Client client = server.connect()) {
      int first = lingeringCall(client);
      int second = lingeringCall(client);
      client.sync();
      client.assertNoFrame(f -> f.type() == RST_STREAM, Duration.ZERO);
      assertEquals(2, server.lingering(), client.describeFrames());

      int third = lingeringCall(client);
      Frame rst = client.awaitFrame(rstOn(first), WAIT);
      assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
      client.sync();
      client.assertNoFrame(rstOn(second).or(rstOn(third)), Duration.ZERO);
      client.assertNoFrame(f -> f.type() == RST_STREAM && f.errorCode() == CANCEL, Duration.ZERO);
      assertEquals(1, server.released(ReleaseCause.OVERFLOW, 1), client.describeFrames());
      assertEquals(2, server.lingering(), client.describeFrames());
    }
  }

  @Test
  void deferredResetsLingeringStreamsWhenTheConnectionShutsDown() {
    try (FrameCodecTestServer server = FrameCodecTestServer.start(
            b -> b.reset(ResetPolicy.DEFERRED).resetGrace(Duration.ofMinutes(1)));
        RawHttp2Client client = server.connect()) {
      int first = lingeringCall(client);
      int second = lingeringCall(client);
      client.sync();
      assertEquals(2, server.lingering(), client.describeFrames());

      long started = System.nanoTime();
      ChannelGroupFuture closing = server.closeConnections();
      Frame goAway = client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      assertEquals(NO_ERROR, goAway.errorCode(), client.describeFrames());
      for (int stream : new int[] {first, second}) {
        Frame rst = client.awaitFrame(rstOn(stream), WAIT);
        assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
        assertTrue(rst.receivedNanos() >= goAway.receivedNanos(), "reset after GOAWAY\n" + client.describeFrames());
      }
      assertTrue(client.awaitClosed(WAIT),
          "the server closes the connection once the lingering streams are reset\n" + client.describeFrames());
      assertTrue(closing.awaitUninterruptibly(2, TimeUnit.SECONDS), client.describeFrames());
      long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertTrue(tookMillis < 2000, "graceful close took " + tookMillis + " ms (timeout "
          + FrameCodecTestServer.GRACEFUL_SHUTDOWN.toMillis() + " ms)\n" + client.describeFrames());
      client.assertNoFrame(f -> f.type() == RST_STREAM && f.errorCode() != NO_ERROR, Duration.ZERO);
      // A frame-codec server closing is a GOAWAY(NO_ERROR), not grpc-java's shutdown.
      assertEquals(2, server.released(ReleaseCause.GOAWAY, 2), client.describeFrames());
      assertEquals(2, server.releasedTotal(), client.describeFrames());
      assertEquals(0, server.lingering(), client.describeFrames());
    }
  }

  /**
   * Stock: the child's CANCEL has already closed each aborted stream, so a graceful close is not
   * held up; it sends GOAWAY and closes the connection at once, with no further reset.
   */
  @Test
  void stockShutdownIsNotHeldUpBecauseTheCancelClosedTheStreams() {
    try (FrameCodecTestServer server = FrameCodecTestServer.startStock();
        RawHttp2Client client = server.connect()) {
      int first = lingeringCall(client);
      int second = lingeringCall(client);
      client.awaitFrame(rstOn(first), WAIT);
      client.awaitFrame(rstOn(second), WAIT);
      client.sync();
      int framesBefore = client.frames().size();

      long started = System.nanoTime();
      server.closeConnections();
      Frame goAway = client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      assertEquals(NO_ERROR, goAway.errorCode(), client.describeFrames());
      assertTrue(client.awaitClosed(WAIT), client.describeFrames());
      long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertTrue(tookMillis < 2000, "graceful close took " + tookMillis + " ms\n" + client.describeFrames());
      assertEquals(List.of(goAway), client.frames().subList(framesBefore, client.frames().size()),
          "GOAWAY, then the connection closes\n" + client.describeFrames());
    }
  }

  /** Never: a passive peer holds the graceful close up; its half-close lets it finish. */
  @Test
  void neverKeepsTheStreamThroughShutdownUntilThePeerEndsIt() {
    try (FrameCodecTestServer server = FrameCodecTestServer.start(b -> b.reset(ResetPolicy.NEVER));
        RawHttp2Client client = server.connect()) {
      int stream = lingeringCall(client);
      client.sync();
      ChannelGroupFuture closing = server.closeConnections();
      client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      client.assertNoFrame(rstOn(stream), Duration.ofMillis(500));
      assertFalse(client.isClosed(), client.describeFrames());
      assertFalse(closing.isDone(), "the graceful close waits for the lingering stream");
      assertEquals(1, server.lingering(), client.describeFrames());

      long started = System.nanoTime();
      client.sendData(stream, new byte[0], true);
      assertTrue(client.awaitClosed(WAIT), client.describeFrames());
      long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertTrue(tookMillis < 2000, "closed " + tookMillis + " ms after the half-close\n" + client.describeFrames());
      client.assertNoFrame(rstOn(stream), Duration.ZERO);
      assertEquals(1, server.released(ReleaseCause.PEER_END_STREAM, 1), client.describeFrames());
      assertEquals(0, server.lingering(), client.describeFrames());
    }
  }

  // -------------------------------------------------------------------------------- flow control

  /**
   * DATA for a lingering stream whose child is gone is consumed by the adapter: uploads five times
   * the connection window, sent after the trailers, get their bytes back in connection
   * WINDOW_UPDATEs (else the client's send would stall and fail after 5 s), and a new call on the
   * same connection then echoes 64 KiB. Every other upload carries END_STREAM, which ends that
   * stream quietly ({@code peer_end_stream}); the rest keep lingering.
   */
  @Test
  void orphanedUploadsDoNotLeakTheConnectionWindow() {
    int streams = 20;
    int upload = 16 * 1024;
    int connectionWindow = 65_535;
    try (FrameCodecTestServer server = FrameCodecTestServer.start(
            b -> b.reset(ResetPolicy.DEFERRED).resetGrace(Duration.ofMinutes(1)));
        RawHttp2Client client = server.connect()) {
      client.sync();
      assertEquals(0, connectionWindowReturned(client), "no connection WINDOW_UPDATE before the uploads\n"
          + client.describeFrames());
      Frame settings = client.awaitFrame(f -> f.type() == SETTINGS && !f.ack(), WAIT);
      assertFalse(hasInitialWindowSetting(settings), "default stream windows\n" + client.describeFrames());

      for (int i = 0; i < streams; i++) {
        int stream = lingeringCall(client);
        client.sync(); // the child has closed: its reset was withheld
        client.sendData(stream, new byte[upload], i % 2 == 1);
      }
      client.sync();
      long returned = connectionWindowReturned(client);
      long sent = (long) streams * upload;
      // Netty returns consumed bytes once half the window is consumed, so less than that is pending.
      assertTrue(returned <= sent && returned >= sent - connectionWindow / 2,
          "connection WINDOW_UPDATEs returned " + returned + " of " + sent + " orphaned bytes\n"
              + client.describeFrames());
      assertEquals(streams / 2, server.lingering(), client.describeFrames());
      assertEquals(streams / 2, server.released(ReleaseCause.PEER_END_STREAM), client.describeFrames());
      assertEquals(streams / 2, server.releasedTotal(), client.describeFrames());
      client.assertNoFrame(f -> f.type() == RST_STREAM, Duration.ZERO);

      byte[] payload = new byte[64 * 1024];
      new Random(42).nextBytes(payload);
      int echo = client.startCall(PATH, Map.of(), false);
      client.sendData(echo, payload, true);
      Frame trailers = client.awaitFrame(f -> f.streamId() == echo && f.type() == HEADERS && f.endStream(), WAIT);
      assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
      assertArrayEquals(payload, client.receivedData(echo), "echoed bytes\n" + client.describeFrames());
      assertEquals("200", client.frames(echo).get(0).header(":status"), client.describeFrames());
      assertTrue(client.frames(echo).stream().anyMatch(f -> f.type() == DATA), client.describeFrames());
      assertEquals(streams / 2, server.lingering(), "the echo did not linger\n" + client.describeFrames());
      client.assertNoFrame(f -> f.type() == RST_STREAM, Duration.ZERO);
    }
  }

  /**
   * DATA a child read in the same read as the guard consumed orphaned DATA must still be returned
   * to the connection window. While the server's event loop is paused the client queues: more
   * DATA for a lingering stream whose child is gone, then two aborted calls, each with a 16 KiB
   * upload right behind its HEADERS; the server reads all of it at once. Each new child reads its
   * upload before it closes. Stock Netty returns those bytes when the child's CANCEL closes the
   * stream; with the reset withheld the child has to have consumed them, or the connection window
   * shrinks by them until the stream ends ({@code null} is a stock pipeline, as a control).
   */
  @ParameterizedTest(name = "{0}")
  @NullSource
  @EnumSource(value = ResetPolicy.class, names = {"DEFERRED", "NEVER"})
  void dataAChildReadBeforeClosingIsReturnedToTheConnectionWindow(ResetPolicy policy) throws Exception {
    int upload = 16 * 1024;
    int connectionWindow = 65_535;
    try (FrameCodecTestServer server = FrameCodecTestServer.startWithReadBuffer(
            policy == null ? null : b -> b.reset(policy).resetGrace(Duration.ofMinutes(1)), 256 * 1024);
        RawHttp2Client client = server.connect()) {
      int orphaned = lingeringCall(client);
      client.sync(); // its child has closed
      int[] aborted = new int[2];
      try (AutoCloseable paused = server.pauseEventLoop()) {
        client.sendData(orphaned, new byte[upload], false);
        for (int i = 0; i < aborted.length; i++) {
          aborted[i] = client.startCall(PATH, ABORT, false);
          client.sendData(aborted[i], new byte[upload], false);
        }
      }
      for (int stream : aborted) {
        assertTrailersOnly(client, stream, client.awaitFrame(stream, HEADERS, WAIT));
      }
      settle(client);

      long sent = (long) (1 + aborted.length) * upload;
      long returned = connectionWindowReturned(client);
      // Netty returns consumed bytes once half the window is consumed, so less than that is pending.
      assertTrue(returned >= sent - connectionWindow / 2,
          "connection WINDOW_UPDATEs returned " + returned + " of the " + sent + " bytes uploaded to aborted"
              + " calls: " + (sent - returned) + " unreturned, at most " + connectionWindow / 2 + " expected\n"
              + client.describeFrames());
      client.assertNoFrame(f -> f.type() == RST_STREAM && f.errorCode() != CANCEL && f.errorCode() != STREAM_CLOSED,
          Duration.ZERO);
      if (policy != null) {
        client.assertNoFrame(f -> f.type() == RST_STREAM, Duration.ZERO);
        assertEquals(1 + aborted.length, server.lingering(), client.describeFrames());
      }

      // And the connection still carries a 64 KiB upload.
      byte[] payload = new byte[64 * 1024];
      new Random(7).nextBytes(payload);
      int echo = client.startCall(PATH, Map.of(), false);
      client.sendData(echo, payload, true);
      Frame trailers = client.awaitFrame(f -> f.streamId() == echo && f.type() == HEADERS && f.endStream(), WAIT);
      assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
      assertArrayEquals(payload, client.receivedData(echo), "echoed bytes\n" + client.describeFrames());
    }
  }

  /**
   * Lingering streams stay active in the codec, and the codec advertises
   * SETTINGS_MAX_CONCURRENT_STREAMS=100 (Netty 4.2's default), which a peer counts its unended
   * streams against. Under {@code deferred}, when the peer's streams reach it, the eldest lingering
   * stream is reset with NO_ERROR ({@code stream_limit}), so new calls always find a slot. Under
   * {@code never} they hold their slots, as in stock Netty.
   */
  @Test
  void lingeringStreamsDoNotCostNewCallsTheirSlots() {
    try (FrameCodecTestServer server = FrameCodecTestServer.start(
            b -> b.reset(ResetPolicy.DEFERRED).resetGrace(Duration.ofMinutes(1)));
        RawHttp2Client client = server.connect()) {
      Frame settings = client.awaitFrame(f -> f.type() == SETTINGS && !f.ack(), WAIT);
      long limit = setting(settings, 0x3);
      assertEquals(100, limit, "Netty 4.2's default MAX_CONCURRENT_STREAMS\n" + client.describeFrames());
      int eldest = lingeringCall(client);
      for (int i = 1; i < limit; i++) {
        lingeringCall(client);
      }
      Frame rst = client.awaitFrame(rstOn(eldest), WAIT);
      assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
      for (int i = 0; i < 10; i++) {
        lingeringCall(client);
        int echo = client.startCall(PATH, Map.of(), true);
        Frame trailers = client.awaitFrame(f -> f.streamId() == echo && f.type() == HEADERS && f.endStream(), WAIT);
        assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
      }
      client.sync();
      client.assertNoFrame(f -> f.type() == RST_STREAM && f.errorCode() != NO_ERROR, Duration.ZERO);
      assertTrue(server.lingering() <= limit - 1, "lingering " + server.lingering());
      assertEquals(server.releasedTotal(), server.released(ReleaseCause.STREAM_LIMIT), client.describeFrames());
    }

    try (FrameCodecTestServer server = FrameCodecTestServer.start(
            b -> b.reset(ResetPolicy.NEVER));
        RawHttp2Client client = server.connect()) {
      for (int i = 0; i < 100; i++) {
        lingeringCall(client);
      }
      int refused = client.startCall(PATH, Map.of(), false);
      Frame rst = client.awaitFrame(rstOn(refused), WAIT);
      assertEquals(REFUSED_STREAM, rst.errorCode(), "never keeps stock Netty's slots\n" + client.describeFrames());
    }

    // abortguard.lingering.max below the stream limit: the cap resets the eldest first.
    int cap = 50;
    try (FrameCodecTestServer server = FrameCodecTestServer.start(
            b -> b.reset(ResetPolicy.DEFERRED).lingeringMax(cap).resetGrace(Duration.ofMinutes(1)));
        RawHttp2Client client = server.connect()) {
      for (int i = 0; i < cap + 10; i++) {
        lingeringCall(client);
      }
      client.sync();
      assertEquals(cap, server.lingering(), client.describeFrames());
      assertEquals(10, server.released(ReleaseCause.OVERFLOW, 10), client.describeFrames());
      assertEquals(0, server.released(ReleaseCause.STREAM_LIMIT), client.describeFrames());
      int echo = client.startCall(PATH, Map.of(), true);
      Frame trailers = client.awaitFrame(f -> f.streamId() == echo && f.type() == HEADERS && f.endStream(), WAIT);
      assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
    }
  }

  /**
   * Legal peer frames on a stream whose child is gone (withheld reset): consumed by the guard's
   * handler, the connection lives and serves the next call, request trailers end the stream.
   */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("dev.abortguard.testing.EarlyCloseExpectations#policiesAndPeerFrames")
  void peerFramesOnALingeringStreamKeepTheConnection(ResetPolicy policy, EarlyCloseExpectations.PeerFrame frame) {
    try (FrameCodecTestServer server = FrameCodecTestServer.start(b -> b.reset(policy).resetGrace(Duration.ofMinutes(1)));
        RawHttp2Client client = server.connect()) {
      EarlyCloseExpectations.peerFrameOnLingeringStream(server, client, PATH, policy, frame, c -> {
        int echo = c.startCall(PATH, Map.of(), true);
        Frame trailers = c.awaitFrame(f -> f.streamId() == echo && f.type() == HEADERS && f.endStream(), WAIT);
        assertEquals("0", trailers.header("grpc-status"), c.describeFrames());
      });
    }
  }

  // -------------------------------------------------------------------------------------- helpers

  /** Opens an aborted call that the client leaves open, and waits for its trailers. */
  static int lingeringCall(RawHttp2Client client) {
    int stream = client.startCall(PATH, ABORT, false);
    Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
    assertTrue(trailers.endStream(), client.describeFrames());
    return stream;
  }

  /**
   * Returns once every frame the server wrote by the end of its last read has been recorded: a
   * child's WINDOW_UPDATE is written at read-complete, after the PING ACK of a PING read in the
   * same read, so one round trip may return before it arrives; a second PING is read later.
   */
  static void settle(RawHttp2Client client) {
    client.sync();
    client.sync();
  }

  /** The sum of connection-level WINDOW_UPDATE increments received so far. */
  static long connectionWindowReturned(RawHttp2Client client) {
    return client.frames(0).stream().filter(f -> f.type() == WINDOW_UPDATE)
        .mapToLong(Frame::windowIncrement).sum();
  }

  static boolean hasInitialWindowSetting(Frame settings) {
    return setting(settings, 0x4) >= 0;
  }

  /** A setting's value in a SETTINGS frame, or -1 when absent. */
  static long setting(Frame settings, int id) {
    byte[] p = settings.payload();
    long value = -1;
    for (int i = 0; i + 6 <= p.length; i += 6) {
      if (((p[i] & 0xff) << 8 | (p[i + 1] & 0xff)) == id) {
        value = 0;
        for (int j = 2; j < 6; j++) {
          value = (value << 8) | (p[i + j] & 0xff);
        }
      }
    }
    return value;
  }
}
