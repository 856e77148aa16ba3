package dev.abortguard.internal.netty;

import static dev.abortguard.internal.netty.EmbeddedHttp2Connection.ABORT;
import static dev.abortguard.internal.netty.EmbeddedHttp2Connection.RESET_EARLY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.internal.netty.EmbeddedHttp2Connection.Frame;
import dev.abortguard.testing.LeakDetectionExtension;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2LocalFlowController;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The connection-level machinery ({@link dev.abortguard.internal.core.ConnectionDriver}, {@link StreamStateListener}, {@link
 * EarlyCloseFrameHandler}) on an {@code EmbeddedChannel}: a server pipeline of {@code
 * Http2FrameCodec}, the guard's handler and {@code Http2MultiplexHandler} fed client frames, judged
 * by the frames it writes, the flush each one went out in, and the guard's meters. Time moves only
 * when a test moves the event loop's clock.
 */
@ExtendWith(LeakDetectionExtension.class)
class ConnectionMachineryTest {
  static final Duration GRACE = Duration.ofSeconds(1);
  static final Duration LONG_GRACE = Duration.ofSeconds(30);

  /**
   * Why the tests that need the grace timer to fire are disabled. The driver measures the
   * grace with System.nanoTime() but schedules its timer on the channel's executor; on an executor
   * with a clock of its own (EmbeddedChannel's, or any Netty 4.2 ticker) the timer fires, finds
   * nothing due by System.nanoTime() and re-arms, for ever. Enable them once the guard takes its
   * time from the executor it schedules on.
   */
  // ------------------------------------------------------------------------------- grace timer

  @Test
  void deferredWritesNothingBeforeTheGraceRunsOut() {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, GRACE, 100), conn -> {
      conn.request(1, ABORT, false).send();
      List<Frame> abort = conn.takeFrames();
      assertEquals(List.of("HEADERS 1 END_STREAM"), brief(abort), "trailers-only, the child's CANCEL withheld\n"
          + conn.describeFrames());
      assertEquals(":status 200 grpc-status 7", abort.get(0).detail());
      assertEquals(1, conn.lingering());
      assertEquals(Http2Stream.State.HALF_CLOSED_LOCAL, conn.codec.connection().stream(1).state());

      conn.advance(GRACE.minusMillis(1));
      assertEquals(List.of(), brief(conn.takeFrames()), "nothing before the grace has run out");
      assertEquals(0, conn.releasedTotal());
      assertEquals(1, conn.lingering());
    });
  }

  @Test
  void deferredResetsOnceWhenTheGraceRunsOut() {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, GRACE, 100), conn -> {
      conn.request(1, ABORT, false).send();
      assertEquals(List.of("HEADERS 1 END_STREAM"), brief(conn.takeFrames()));

      conn.advance(GRACE.minusMillis(1));
      assertEquals(List.of(), brief(conn.takeFrames()), "nothing before the grace has run out");
      assertEquals(0, conn.releasedTotal());

      conn.advance(Duration.ofMillis(1));
      assertEquals(List.of("RST_STREAM 1 NO_ERROR"), brief(conn.takeFrames()), conn.describeFrames());
      assertEquals(1, conn.released(ReleaseCause.GRACE_EXPIRED));
      assertEquals(1, conn.releasedTotal());
      assertEquals(0, conn.lingering());
      assertNull(conn.codec.connection().stream(1), "stream 1 closed");

      conn.advance(GRACE.multipliedBy(5));
      assertEquals(List.of(), brief(conn.takeFrames()), "one reset only");
      assertEquals(1, conn.releasedTotal());
    });
  }

  @Test
  void eachStreamIsResetAtItsOwnDeadline() {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, GRACE, 100), conn -> {
      conn.request(1, ABORT, false).send();
      conn.advance(Duration.ofMillis(300));
      conn.request(3, ABORT, false).send();
      assertEquals(List.of("HEADERS 1 END_STREAM", "HEADERS 3 END_STREAM"), brief(conn.takeFrames()));
      assertEquals(2, conn.lingering());

      conn.advance(Duration.ofMillis(699));
      assertEquals(List.of(), brief(conn.takeFrames()), "t = 999 ms");
      conn.advance(Duration.ofMillis(1)); // t = 1000 ms: stream 1's deadline
      assertEquals(List.of("RST_STREAM 1 NO_ERROR"), brief(conn.takeFrames()), conn.describeFrames());
      assertEquals(1, conn.lingering());
      conn.advance(Duration.ofMillis(299));
      assertEquals(List.of(), brief(conn.takeFrames()), "stream 3 not before t = 1300 ms");
      conn.advance(Duration.ofMillis(1));
      assertEquals(List.of("RST_STREAM 3 NO_ERROR"), brief(conn.takeFrames()), conn.describeFrames());
      assertEquals(2, conn.released(ReleaseCause.GRACE_EXPIRED));
      assertEquals(0, conn.lingering());
    });
  }

  @Test
  void timerReArmsForTheNextStreamWhenTheEldestWasReleasedFirst() {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, GRACE, 100), conn -> {
      conn.request(1, ABORT, false).send();
      conn.advance(Duration.ofMillis(300));
      conn.request(3, ABORT, false).send();
      conn.advance(Duration.ofMillis(200));
      conn.reset(1, Http2Error.CANCEL).send(); // t = 500 ms: the peer releases stream 1
      assertEquals(List.of("HEADERS 1 END_STREAM", "HEADERS 3 END_STREAM"), brief(conn.takeFrames()),
          "nothing answers the peer's reset\n" + conn.describeFrames());
      assertEquals(1, conn.released(ReleaseCause.PEER_RESET));
      assertEquals(1, conn.lingering());

      conn.advance(Duration.ofMillis(500)); // t = 1000 ms: the timer armed for stream 1 fires for nothing
      assertEquals(List.of(), brief(conn.takeFrames()), "stream 3's grace runs until t = 1300 ms");
      conn.advance(Duration.ofMillis(299));
      assertEquals(List.of(), brief(conn.takeFrames()), "not before t = 1300 ms");
      assertEquals(0, conn.released(ReleaseCause.GRACE_EXPIRED));

      conn.advance(Duration.ofMillis(1));
      assertEquals(List.of("RST_STREAM 3 NO_ERROR"), brief(conn.takeFrames()), "re-armed for stream 3\n"
          + conn.describeFrames());
      assertEquals(1, conn.released(ReleaseCause.GRACE_EXPIRED));
      assertEquals(2, conn.releasedTotal());
      assertEquals(0, conn.lingering());
    });
  }

  @Test
  void peerResetForgetsALingeringStream() {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, GRACE, 100), conn -> {
      conn.request(1, ABORT, false).send();
      conn.takeFrames();
      conn.reset(1, Http2Error.CANCEL).send();
      assertEquals(List.of(), brief(conn.takeFrames()), "nothing answers the peer's reset\n" + conn.describeFrames());
      assertEquals(1, conn.released(ReleaseCause.PEER_RESET));
      assertEquals(1, conn.releasedTotal());
      assertEquals(0, conn.lingering());
      assertNull(conn.codec.connection().stream(1));

      conn.advance(GRACE.multipliedBy(3));
      assertEquals(List.of(), brief(conn.takeFrames()), "no reset for a forgotten stream");
      assertEquals(1, conn.releasedTotal());
    });
  }

  // ------------------------------------------------------------------------------ flushes and drain

  @Test
  void immediateResetLeavesInTheTrailersFlush() {
    run(new EmbeddedHttp2Connection(ResetPolicy.IMMEDIATE, GRACE, 100), conn -> {
      conn.request(1, ABORT, false).send();
      List<Frame> frames = conn.takeFrames();
      assertEquals(List.of("HEADERS 1 END_STREAM", "RST_STREAM 1 NO_ERROR"), brief(frames),
          "trailers, then NO_ERROR instead of the child's CANCEL\n" + conn.describeFrames());
      assertEquals(frames.get(0).flush(), frames.get(1).flush(), "one flush\n" + conn.describeFrames());
      assertEquals(1, conn.released(ReleaseCause.IMMEDIATE));
      assertEquals(1, conn.releasedTotal());
      assertEquals(0, conn.lingering());

      conn.advance(GRACE.multipliedBy(3));
      assertEquals(List.of(), brief(conn.takeFrames()));
      assertEquals(1, conn.releasedTotal());
    });
  }

  @Test
  void overflowResetGoesOutWithTheNextTrailers() {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, LONG_GRACE, 1), conn -> {
      conn.request(1, ABORT, false).send();
      assertEquals(List.of("HEADERS 1 END_STREAM"), brief(conn.takeFrames()));
      conn.request(3, ABORT, false).send();
      List<Frame> frames = conn.takeFrames();
      assertEquals(List.of("HEADERS 3 END_STREAM", "RST_STREAM 1 NO_ERROR"), brief(frames), conn.describeFrames());
      assertEquals(frames.get(0).flush(), frames.get(1).flush(), "the eldest's reset rides the trailers' flush");
      assertEquals(1, conn.released(ReleaseCause.OVERFLOW));
      assertEquals(1, conn.lingering());
    });
  }

  /** Closing the channel sends GOAWAY inside the codec; the reset that decides goes out in the drain task. */
  @Test
  void gracefulCloseResetsLingeringStreamsInTheDrainTask() {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, LONG_GRACE, 100), conn -> {
      conn.request(1, ABORT, false).send();
      conn.takeFrames();

      List<Frame> goAway = new ArrayList<>();
      conn.asOneTask(() -> {
        conn.channel.pipeline().close();
        goAway.addAll(conn.takeFrames());
        assertEquals(List.of("GOAWAY 0 NO_ERROR"), brief(goAway), "the codec flushes its GOAWAY alone\n"
            + conn.describeFrames());
        assertEquals(0, conn.releasedTotal(), "not counted before its reset is written");
        assertEquals(1, conn.lingering());
        assertTrue(conn.channel.isOpen(), "the codec waits for the active stream");
      });
      List<Frame> reset = conn.takeFrames();
      assertEquals(List.of("RST_STREAM 1 NO_ERROR"), brief(reset), "the drain task resets stream 1\n"
          + conn.describeFrames());
      assertTrue(reset.get(0).flush() > goAway.get(0).flush());
      assertEquals(1, conn.released(ReleaseCause.GOAWAY), conn.describeFrames());
      assertEquals(1, conn.releasedTotal());
      assertEquals(0, conn.lingering());
      assertFalse(conn.channel.isOpen(), "with its last stream reset the connection closes at once");
    });
  }

  /** A GOAWAY(NO_ERROR) frame the server writes, unflushed: the drain task writes the reset behind it and flushes both. */
  @ParameterizedTest(name = "\"{0}\" -> {1}")
  @CsvSource({"app_requested, SHUTDOWN", "'', GOAWAY", "max_age, GOAWAY", "app_requested!, GOAWAY"})
  void goAwayWrittenByTheServerResetsInTheDrainTask(String debug, ReleaseCause cause) {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, LONG_GRACE, 100), conn -> {
      conn.request(1, ABORT, false).send();
      conn.takeFrames();

      conn.asOneTask(() -> {
        conn.channel.pipeline().write(goAway(Http2Error.NO_ERROR, debug));
        assertEquals(List.of(), brief(conn.takeFrames()), "nothing flushed inside the callback");
        assertEquals(0, conn.releasedTotal());
      });
      List<Frame> frames = conn.takeFrames();
      assertEquals(List.of("GOAWAY 0 NO_ERROR", "RST_STREAM 1 NO_ERROR"), brief(frames), conn.describeFrames());
      assertEquals(debug, frames.get(0).detail());
      assertEquals(frames.get(0).flush(), frames.get(1).flush(), "the task flushes the GOAWAY and the reset");
      assertEquals(1, conn.released(cause), conn.describeFrames());
      assertEquals(1, conn.releasedTotal());
      assertEquals(0, conn.lingering());
      assertTrue(conn.channel.isOpen());
    });
  }

  /**
   * The codec closes the connection as soon as a GOAWAY with an error code is written, and the
   * guard's reset can only follow the GOAWAY: it never completes, so the release is {@code
   * connection_closed}, as a reset that was not written must be.
   */
  @ParameterizedTest
  @EnumSource(value = Http2Error.class, names = {"INTERNAL_ERROR", "ENHANCE_YOUR_CALM"})
  void goAwayWithAnErrorCodeClosesTheConnectionBeforeTheReset(Http2Error error) {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, LONG_GRACE, 100), conn -> {
      conn.request(1, ABORT, false).send();
      conn.takeFrames();

      conn.asOneTask(() -> conn.channel.pipeline().write(goAway(error, "")));
      assertEquals(List.of("GOAWAY 0 " + error), brief(conn.takeFrames()), conn.describeFrames());
      assertFalse(conn.channel.isOpen());
      assertEquals(1, conn.released(ReleaseCause.CONNECTION_CLOSED), conn.describeFrames());
      assertEquals(0, conn.released(ReleaseCause.CONNECTION_ERROR));
      assertEquals(1, conn.releasedTotal());
      assertEquals(0, conn.lingering());
    });
  }

  @Test
  void goAwayWrittenAndFlushedTakesTheResetsInTheSameFlush() {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, LONG_GRACE, 100), conn -> {
      conn.request(1, ABORT, false).request(3, ABORT, false).send();
      conn.takeFrames();

      conn.asOneTask(() -> {
        conn.channel.pipeline().writeAndFlush(goAway(Http2Error.NO_ERROR, ""));
        List<Frame> frames = conn.takeFrames();
        assertEquals(List.of("GOAWAY 0 NO_ERROR", "RST_STREAM 1 NO_ERROR", "RST_STREAM 3 NO_ERROR"), brief(frames),
            conn.describeFrames());
        assertEquals(1, frames.stream().map(Frame::flush).distinct().count(), conn.describeFrames());
        assertEquals(2, conn.released(ReleaseCause.GOAWAY));
        assertEquals(0, conn.lingering());
      });
      assertEquals(List.of(), brief(conn.takeFrames()), "the drain task finds nothing left");
      assertEquals(2, conn.releasedTotal());
    });
  }

  @Test
  void connectionClosedBeforeTheDrainCountsAsConnectionClosed() {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, LONG_GRACE, 100), conn -> {
      conn.request(1, ABORT, false).send();
      conn.takeFrames();

      conn.asOneTask(() -> {
        conn.channel.pipeline().write(goAway(Http2Error.NO_ERROR, ""));
        conn.channel.pipeline().firstContext().close(); // the transport goes, under the codec
      });

      assertEquals(List.of(), brief(conn.takeFrames()), conn.describeFrames());
      assertFalse(conn.channel.isOpen());
      assertEquals(1, conn.released(ReleaseCause.CONNECTION_CLOSED), conn.describeFrames());
      assertEquals(0, conn.released(ReleaseCause.GOAWAY));
      assertEquals(1, conn.releasedTotal());
      assertEquals(0, conn.lingering());
    });
  }

  @Test
  void connectionClosedBeforeTheResetWriteCompletesCountsAsConnectionClosed() {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, LONG_GRACE, 100), conn -> {
      conn.request(1, ABORT, false).send();
      conn.takeFrames();

      conn.holdFlushes(true);
      conn.asOneTask(() -> conn.channel.pipeline().write(goAway(Http2Error.NO_ERROR, "")));
      // The drain task has written the reset; its flush is held.
      Http2Stream stream = conn.codec.connection().stream(1);
      assertTrue(stream != null && stream.isResetSent(), "the drain wrote the reset");
      assertEquals(0, conn.releasedTotal(), "not counted before the write completes");
      assertEquals(1, conn.lingering());

      conn.asOneTask(() -> conn.channel.pipeline().firstContext().close());

      assertFalse(conn.channel.isOpen());
      assertEquals(List.of(), brief(conn.takeFrames()), conn.describeFrames());
      assertEquals(1, conn.released(ReleaseCause.CONNECTION_CLOSED), conn.describeFrames());
      assertEquals(0, conn.released(ReleaseCause.GOAWAY));
      assertEquals(1, conn.releasedTotal());
      assertEquals(0, conn.lingering());
    });
  }

  // ------------------------------------------------------------------------ MAX_CONCURRENT_STREAMS

  /**
   * A peer counts the streams it has not ended against MAX_CONCURRENT_STREAMS, lingering ones
   * too. Under {@code deferred} the eldest lingering stream is reset ({@code stream_limit}) as soon
   * as the peer's open streams reach the limit, so the peer's next call is not refused; live calls
   * still get only the advertised limit.
   */
  @Test
  void deferredLingeringStreamsDoNotCostTheNextCallItsSlot() {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, LONG_GRACE, 100, maxConcurrentStreams(2)),
        conn -> {
      Http2Connection.Endpoint<?> remote = conn.codec.connection().remote();
      assertEquals(2, remote.maxActiveStreams(), "SETTINGS acknowledged");

      conn.request(1, ABORT, false).send();
      assertEquals(List.of("HEADERS 1 END_STREAM"), brief(conn.takeFrames()), conn.describeFrames());
      assertEquals(1, conn.lingering());

      conn.request(3, ABORT, false).send(); // the peer's second and last slot
      List<Frame> frames = conn.takeFrames();
      assertEquals(List.of("HEADERS 3 END_STREAM", "RST_STREAM 1 NO_ERROR"), brief(frames), conn.describeFrames());
      assertEquals(frames.get(0).flush(), frames.get(1).flush());
      assertEquals(1, conn.released(ReleaseCause.STREAM_LIMIT));
      assertEquals(1, conn.lingering());

      conn.request(5, ABORT, false).send(); // the slot stream 1 left
      assertEquals(List.of("HEADERS 5 END_STREAM", "RST_STREAM 3 NO_ERROR"), brief(conn.takeFrames()),
          "served, not refused\n" + conn.describeFrames());
      assertEquals(2, conn.released(ReleaseCause.STREAM_LIMIT));

      conn.request(7, null, false).send(); // a live call takes the last slot: the lingering one goes
      assertEquals(List.of("HEADERS 7", "RST_STREAM 5 NO_ERROR"), brief(conn.takeFrames()), conn.describeFrames());
      assertEquals(3, conn.released(ReleaseCause.STREAM_LIMIT));
      assertEquals(0, conn.lingering());

      conn.request(9, null, false).request(11, null, false).send();
      assertEquals(List.of("HEADERS 9", "RST_STREAM 11 REFUSED_STREAM"), brief(conn.takeFrames()),
          "two live calls, as advertised\n" + conn.describeFrames());
      assertEquals(3, conn.releasedTotal());
      assertEquals(2, remote.maxActiveStreams(), "the advertised limit itself is left alone");
    });
  }

  @Test
  void neverLetsLingeringStreamsHoldTheirSlots() {
    run(new EmbeddedHttp2Connection(ResetPolicy.NEVER, LONG_GRACE, 100, maxConcurrentStreams(2)),
        conn -> {
      conn.request(1, ABORT, false).send();
      conn.request(3, ABORT, false).send();
      assertEquals(List.of("HEADERS 1 END_STREAM", "HEADERS 3 END_STREAM"), brief(conn.takeFrames()),
          conn.describeFrames());
      assertEquals(2, conn.lingering());

      conn.request(5, ABORT, false).send();
      assertEquals(List.of("RST_STREAM 5 REFUSED_STREAM"), brief(conn.takeFrames()),
          "stock: lingering streams fill the limit\n" + conn.describeFrames());
      assertEquals(2, conn.lingering());
      assertEquals(0, conn.releasedTotal());

      conn.reset(1, Http2Error.CANCEL).send();
      conn.request(7, ABORT, false).send();
      assertEquals(List.of("HEADERS 7 END_STREAM"), brief(conn.takeFrames()), "a slot once the peer ends one\n"
          + conn.describeFrames());
      assertEquals(1, conn.released(ReleaseCause.PEER_RESET));
      assertEquals(2, conn.lingering());
    });
  }

  // --------------------------------------------------------------------------- orphaned streams

  @Test
  void dataOnAnOrphanedStreamIsConsumedAndRequestTrailersEndIt() {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, LONG_GRACE, 100), conn -> {
      conn.request(1, ABORT, false).send();
      assertEquals(List.of("HEADERS 1 END_STREAM"), brief(conn.takeFrames()));

      // Two full 16 KiB frames: exactly the half window at which Netty announces consumed bytes.
      conn.data(1, 32768, false).send();
      List<Frame> updates = conn.takeFrames();
      assertEquals(List.of("WINDOW_UPDATE 0", "WINDOW_UPDATE 1"), sorted(brief(updates)), conn.describeFrames());
      updates.forEach(update -> assertEquals(32768, update.value(), update.toString()));
      Http2Connection connection = conn.codec.connection();
      Http2LocalFlowController flow = connection.local().flowController();
      assertEquals(0, flow.unconsumedBytes(connection.connectionStream()), "connection window returned");
      assertEquals(0, flow.unconsumedBytes(connection.stream(1)), "stream window returned");
      assertEquals(1, conn.lingering());

      conn.data(1, 100, false).send();
      assertEquals(List.of(), brief(conn.takeFrames()), "below the update threshold: nothing sent");
      assertEquals(0, flow.unconsumedBytes(connection.connectionStream()), "but consumed");

      conn.requestTrailers(1).send();
      assertEquals(List.of(), brief(conn.takeFrames()), "no GOAWAY, no reset\n" + conn.describeFrames());
      assertEquals(1, conn.released(ReleaseCause.PEER_END_STREAM));
      assertEquals(1, conn.releasedTotal());
      assertEquals(0, conn.lingering());
      assertNull(connection.stream(1), "stream 1 closed");
      assertEquals(0, flow.unconsumedBytes(connection.connectionStream()));

      conn.request(3, null, true).send();
      assertEquals(List.of("HEADERS 3", "HEADERS 3 END_STREAM"), brief(conn.takeFrames()),
          "the connection still serves calls\n" + conn.describeFrames());
      assertTrue(conn.channel.isOpen());
    });
  }

  @Test
  void dataWithEndStreamOnAnOrphanedStreamEndsItAndReturnsTheConnectionWindow() {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, LONG_GRACE, 100), conn -> {
      conn.request(1, ABORT, false).send();
      conn.takeFrames();
      conn.data(1, 100, true).send();
      assertEquals(List.of(), brief(conn.takeFrames()), conn.describeFrames());
      assertEquals(1, conn.released(ReleaseCause.PEER_END_STREAM));
      assertEquals(0, conn.lingering());
      Http2Connection connection = conn.codec.connection();
      assertNull(connection.stream(1));
      assertEquals(0, connection.local().flowController().unconsumedBytes(connection.connectionStream()));
    });
  }

  @Test
  void childClosingBeforeEndStreamStillSendsItsCancel() {
    run(new EmbeddedHttp2Connection(ResetPolicy.DEFERRED, LONG_GRACE, 100), conn -> {
      conn.request(1, RESET_EARLY, false).send();
      assertEquals(List.of("RST_STREAM 1 CANCEL"), brief(conn.takeFrames()), "not an early close: passes\n"
          + conn.describeFrames());
      assertEquals(0, conn.lingering());
      assertEquals(0, conn.releasedTotal());
    });
  }

  // ---------------------------------------------------------------------------- GOAWAY reading

  @ParameterizedTest(name = "{0} \"{1}\" -> {2}")
  @CsvSource({
      "NO_ERROR, app_requested, SHUTDOWN",
      "NO_ERROR, '', GOAWAY",
      "NO_ERROR, app_requested!, GOAWAY",
      "NO_ERROR, app, GOAWAY",
      "PROTOCOL_ERROR, '', CONNECTION_ERROR",
      "INTERNAL_ERROR, app_requested, CONNECTION_ERROR"})
  void goAwayCause(Http2Error error, String debug, ReleaseCause cause) {
    ByteBuf debugData = Unpooled.copiedBuffer(debug, StandardCharsets.US_ASCII);
    try {
      assertEquals(cause, StreamStateListener.goAwayCause(error.code(), debugData));
      assertEquals(0, debugData.readerIndex(), "debug data left unread");
    } finally {
      debugData.release();
    }
    if (error == Http2Error.NO_ERROR) {
      assertEquals(ReleaseCause.GOAWAY, StreamStateListener.goAwayCause(error.code(), null));
    }
  }

  // ----------------------------------------------------------------------------------- helpers

  /** Runs {@code test} on {@code conn}, then finishes {@code conn} whatever happened. */
  private static void run(EmbeddedHttp2Connection conn, Consumer<EmbeddedHttp2Connection> test) {
    try {
      test.accept(conn);
    } catch (RuntimeException | Error e) {
      try {
        conn.finish();
      } catch (RuntimeException | Error suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    conn.finish();
  }

  private static Consumer<Http2FrameCodecBuilder> maxConcurrentStreams(
      int max) {
    return codec -> codec.initialSettings(Http2Settings.defaultSettings().maxConcurrentStreams(max));
  }

  private static DefaultHttp2GoAwayFrame goAway(Http2Error error, String debug) {
    return new DefaultHttp2GoAwayFrame(error, Unpooled.copiedBuffer(debug, StandardCharsets.US_ASCII));
  }

  /** Frames as "TYPE stream [ERROR] [END_STREAM]", GOAWAY's stream being 0. */
  private static List<String> brief(List<Frame> frames) {
    return frames.stream().map(f -> {
      String text = f.type() + " " + f.streamId();
      if (f.type().equals("RST_STREAM") || f.type().equals("GOAWAY")) {
        text += " " + Http2Error.valueOf(f.errorCode());
      }
      return f.endStream() ? text + " END_STREAM" : text;
    }).collect(Collectors.toList());
  }

  private static List<String> sorted(List<String> list) {
    List<String> copy = new ArrayList<>(list);
    copy.sort(null);
    return copy;
  }
}
