package dev.abortguard.okhttp;

import static dev.abortguard.okhttp.Http2Frames.NO_ERROR;
import static dev.abortguard.okhttp.Http2Frames.STREAM_CLOSED;

import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.EarlyCloseTracker;
import dev.abortguard.internal.core.Release;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.internal.GuardParts;
import dev.abortguard.internal.metrics.GuardMetrics;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs one grpc-okhttp connection's {@link EarlyCloseTracker} from the HTTP/2 frames that cross its
 * socket, as {@link InboundFrames} and {@link OutboundFrames} read them, and says what to do with
 * grpc-okhttp's own frames: withhold its RST_STREAM(NO_ERROR) after early trailers, drop the peer's
 * DATA for a stream grpc-okhttp has forgotten (giving the connection window back), and which frames
 * to add ({@link #takeInjections}).
 *
 * <p>grpc-okhttp forgets a stream as soon as it has sent its trailers and reset. Once the reset is
 * withheld the peer still has the stream open, so this class keeps what grpc-okhttp no longer does:
 * which streams the peer counts as open (for {@code MAX_CONCURRENT_STREAMS}) and which linger.
 *
 * <p>Thread-safe: the socket's reader thread, grpc-okhttp's writer and the guard's timer all call
 * in; each call holds this object's lock briefly and never does I/O.
 */
final class OkHttpConnectionGuard {
  /** Streams closed for the peer whose late resets from grpc-okhttp are still withheld. */
  private static final int SETTLED_REMEMBERED = 64;

  private final GuardMetrics metrics;
  private final EarlyCloseTracker tracker;
  private final boolean freesSlots;
  private final OkHttpTimers timers;
  /** Streams the peer has opened and not yet seen closed. */
  private final Map<Integer, PeerStream> open = new HashMap<>();
  /**
   * Streams both sides ended, the peer's end crossing grpc-okhttp's trailers or arriving while the
   * stream lingered: grpc-okhttp may still answer frames it read for them with RST_STREAM, which
   * the peer, whose stream is closed, must not get. The newest few are enough.
   */
  private final Map<Integer, PeerStream> settled = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Integer, PeerStream> eldest) {
      return size() > SETTLED_REMEMBERED;
    }
  };
  /** The highest stream id the peer has opened: lower ids not {@link #open} are closed. */
  private int highestPeerStream;
  /** Releases whose RST_STREAM(NO_ERROR) is still to be written, by stream id. */
  private final LinkedHashMap<Integer, Release> pendingResets = new LinkedHashMap<>();
  /** Releases waiting for grpc-okhttp's own RST_STREAM(NO_ERROR), which follows its trailers. */
  private final Map<Integer, Release> byOkHttpsReset = new HashMap<>();
  private int maxConcurrentStreams = Integer.MAX_VALUE;
  /** Bytes of dropped DATA still to be given back to the peer's connection window. */
  private long windowCredit;
  private boolean closed;
  private ScheduledFuture<?> graceTimer;
  /** Called when frames wait to be injected: the outbound side writes them at its next frame boundary. */
  private Runnable injectionsWaiting = () -> { };
  private final Runnable whenClosed;

  /** @param whenClosed run once, when the socket closes */
  OkHttpConnectionGuard(GuardParts parts, OkHttpTimers timers, Runnable whenClosed) {
    this.metrics = parts.metrics();
    this.timers = timers;
    this.whenClosed = whenClosed;
    this.tracker = new EarlyCloseTracker(parts.config().reset(), parts.config().resetGrace().toNanos(),
        parts.config().lingeringMax(), parts.budget());
    // Under never nothing is ever reset: lingering streams keep their slots, as in stock servers.
    this.freesSlots = parts.config().reset() == ResetPolicy.DEFERRED;
  }

  /** Who writes the injections: the outbound side, set once it exists. */
  synchronized void onInjectionsWaiting(Runnable injectionsWaiting) {
    this.injectionsWaiting = injectionsWaiting;
  }

  /**
   * One stream the peer opened. grpc-okhttp forgets a stream when it queues its trailers, before
   * they reach the socket and so before the guard sees them: frames the peer sends meanwhile reach
   * grpc-okhttp, which skips them (DATA without returning its connection window) and answers each
   * with RST_STREAM(STREAM_CLOSED). Those are the newest frames passed, so the guard keeps what the
   * last few were worth to the window and gives one back per such reset, which it withholds.
   */
  private static final class PeerStream {
    private static final int REMEMBERED = 8;
    boolean serverEnded;
    boolean peerEnded;
    /** Window bytes of the last frames passed to grpc-okhttp (0 for HEADERS), a ring. */
    private final int[] passed = new int[REMEMBERED];
    private int newest;
    private int count;

    void passed(int windowBytes) {
      newest = (newest + 1) % REMEMBERED;
      passed[newest] = windowBytes;
      count = Math.min(count + 1, REMEMBERED);
    }

    /** What the newest frame not yet answered was worth, or 0. */
    int takeNewest() {
      if (count == 0) {
        return 0;
      }
      int bytes = passed[newest];
      newest = (newest + REMEMBERED - 1) % REMEMBERED;
      count--;
      return bytes;
    }

    boolean lingering() {
      return serverEnded && !peerEnded;
    }
  }

  // ---- inbound: what the peer sent, seen before grpc-okhttp reads it ----

  /** The peer sent HEADERS on {@code streamId}. */
  synchronized void peerHeaders(int streamId, boolean endStream) {
    if (closed) {
      return;
    }
    PeerStream stream = open.get(streamId);
    if (stream == null) {
      if (streamId > highestPeerStream) {
        highestPeerStream = streamId;
        stream = new PeerStream();
        stream.peerEnded = endStream;
        open.put(streamId, stream);
        if (freeASlotIfFull()) {
          carryOut(0);
        }
      }
      return;
    }
    stream.passed(0);
    if (endStream) {
      peerEnded(streamId, stream);
    }
  }

  /**
   * The peer sent DATA on {@code streamId}.
   *
   * @return whether to keep the frame from grpc-okhttp, giving its bytes back to the connection
   *     window itself: the stream is closed to grpc-okhttp (it lingers, or was reset or ended), and
   *     grpc-okhttp would skip the frame without counting it (RFC 9113 §6.9 wants it counted)
   */
  synchronized boolean peerData(int streamId, boolean endStream, int frameLength) {
    if (closed) {
      return false;
    }
    PeerStream stream = open.get(streamId);
    boolean drop = stream == null ? streamId <= highestPeerStream : stream.serverEnded;
    if (stream != null) {
      if (!drop) {
        stream.passed(frameLength);
      }
      if (endStream) {
        peerEnded(streamId, stream);
      }
    }
    if (drop && frameLength > 0) {
      windowCredit += frameLength;
      injectionsWaiting.run();
    }
    return drop;
  }

  /** The peer reset {@code streamId}. */
  synchronized void peerReset(int streamId) {
    if (closed || open.remove(streamId) == null) {
      return;
    }
    released(streamId, ReleaseCause.PEER_RESET);
  }

  private void peerEnded(int streamId, PeerStream stream) {
    stream.peerEnded = true;
    if (stream.serverEnded) {
      open.remove(streamId);
      settled.put(streamId, stream);
      released(streamId, ReleaseCause.PEER_END_STREAM);
    }
  }

  // ---- outbound: what grpc-okhttp writes, seen before it reaches the socket ----

  /** grpc-okhttp advertised {@code MAX_CONCURRENT_STREAMS}. */
  synchronized void serverMaxConcurrentStreams(int value) {
    maxConcurrentStreams = value;
  }

  /** grpc-okhttp sent END_STREAM (trailers, or the last DATA of an HTTP error) on {@code streamId}. */
  synchronized void serverEnded(int streamId) {
    if (closed) {
      return;
    }
    PeerStream stream = open.get(streamId);
    if (stream == null) {
      return;
    }
    stream.serverEnded = true;
    if (stream.peerEnded) {
      // Closed on both sides; if the peer's end crossed the trailers, grpc-okhttp's reset follows.
      open.remove(streamId);
      settled.put(streamId, stream);
      return;
    }
    if (tracker.serverEnded(streamId, System.nanoTime())) {
      metrics.onLingering();
    }
    carryOut(streamId);
    if (freeASlotIfFull()) {
      carryOut(streamId);
    }
    armGraceTimer();
  }

  /**
   * grpc-okhttp is about to write RST_STREAM({@code errorCode}) on {@code streamId}.
   *
   * @return whether to withhold it
   */
  synchronized boolean serverReset(int streamId, int errorCode) {
    if (closed) {
      return false;
    }
    PeerStream stream = open.get(streamId);
    boolean closedToPeer = stream == null && settled.containsKey(streamId);
    if (errorCode == STREAM_CLOSED && (closedToPeer || stream != null && stream.lingering())) {
      // Its answer to a frame it read after forgetting the stream: give that frame's bytes back.
      int bytes = (stream != null ? stream : settled.get(streamId)).takeNewest();
      if (bytes > 0) {
        windowCredit += bytes;
        injectionsWaiting.run();
      }
      return true;
    }
    if (errorCode == NO_ERROR) {
      Release release = byOkHttpsReset.remove(streamId);
      if (release != null) {
        // The policy's reset for a stream ending now: grpc-okhttp's own goes out as it.
        PeerStream ended = open.remove(streamId);
        if (ended != null) {
          settled.put(streamId, ended);
        }
        // Counted before the bytes are written; a write that fails closes the connection anyway.
        metrics.onReleased(release.cause(), release.lingeredNanos());
        return false;
      }
      if (tracker.isLingering(streamId)) {
        return true; // the early-close reset: the policy decides when (or whether) one goes out
      }
      if (closedToPeer) {
        return true; // the peer ended the stream as the trailers left: nothing left to reset
      }
    }
    if (open.remove(streamId) != null) {
      released(streamId, ReleaseCause.SERVER_RESET);
    }
    return false;
  }

  /** grpc-okhttp sent GOAWAY with {@code errorCode}. */
  synchronized void serverGoAway(int errorCode) {
    if (closed) {
      return;
    }
    // grpc-okhttp's shutdown(), max connection age and idle all send GOAWAY(NO_ERROR).
    tracker.goAwaySent(errorCode == NO_ERROR ? ReleaseCause.SHUTDOWN : ReleaseCause.CONNECTION_ERROR,
        System.nanoTime());
    carryOut(0);
  }

  /** The socket closed: release every stream, drop unwritten resets, stop the timer. */
  synchronized void closed() {
    if (closed) {
      return;
    }
    tracker.connectionClosed(System.nanoTime());
    carryOut(0);
    closed = true;
    for (Release release : pendingResets.values()) {
      metrics.onReleased(ReleaseCause.CONNECTION_CLOSED, release.lingeredNanos());
    }
    for (Release release : byOkHttpsReset.values()) {
      metrics.onReleased(ReleaseCause.CONNECTION_CLOSED, release.lingeredNanos());
    }
    pendingResets.clear();
    byOkHttpsReset.clear();
    open.clear();
    settled.clear();
    if (graceTimer != null) {
      graceTimer.cancel(false);
      graceTimer = null;
    }
    whenClosed.run();
  }

  // ---- injections ----

  /** Whether {@link #takeInjections} has frames. */
  synchronized boolean hasInjections() {
    return !closed && (!pendingResets.isEmpty() || windowCredit > 0);
  }

  /**
   * The frames to write now, in order: a connection WINDOW_UPDATE for dropped DATA, then the
   * guard's resets. The caller writes them at a frame boundary and then calls {@link #injected}.
   */
  synchronized Injections takeInjections() {
    if (closed) {
      return Injections.NONE;
    }
    int credit = (int) Math.min(windowCredit, Integer.MAX_VALUE);
    windowCredit -= credit;
    List<Release> resets = new ArrayList<>(pendingResets.values());
    pendingResets.clear();
    for (Release release : resets) {
      open.remove(release.streamId());
    }
    return new Injections(credit, resets);
  }

  /** {@code injections} reached the socket ({@code written}) or failed with it. */
  void injected(Injections injections, boolean written) {
    for (Release release : injections.resets) {
      metrics.onReleased(written ? release.cause() : ReleaseCause.CONNECTION_CLOSED, release.lingeredNanos());
    }
  }

  /** Frames the guard adds to the outbound stream. */
  static final class Injections {
    static final Injections NONE = new Injections(0, List.of());

    /** Bytes to give back to the peer's connection window (0: no WINDOW_UPDATE). */
    final int windowCredit;
    /** Streams to reset with NO_ERROR. */
    final List<Release> resets;

    Injections(int windowCredit, List<Release> resets) {
      this.windowCredit = windowCredit;
      this.resets = resets;
    }

    boolean isEmpty() {
      return windowCredit == 0 && resets.isEmpty();
    }
  }

  // ---- the tracker ----

  private void released(int streamId, ReleaseCause cause) {
    Release pending = pendingResets.remove(streamId);
    if (pending == null) {
      pending = byOkHttpsReset.remove(streamId);
    }
    if (pending != null) {
      // Closed before the reset went out: the peer or grpc-okhttp got there first.
      metrics.onReleased(cause, pending.lingeredNanos());
      return;
    }
    if (tracker.lingeringCount() == 0) {
      return;
    }
    tracker.closed(streamId, cause, System.nanoTime());
    carryOut(0);
  }

  /**
   * Takes the tracker's decisions: resets wait for the outbound side, other releases count now. A
   * reset decided for {@code endingStreamId}, whose trailers are passing now (0: none), goes out as
   * grpc-okhttp's own RST_STREAM(NO_ERROR), which follows them, rather than as a second one; so
   * does every reset under {@code immediate}.
   */
  private void carryOut(int endingStreamId) {
    Release release;
    boolean resets = false;
    while ((release = tracker.pollRelease()) != null) {
      if (release.cause() == ReleaseCause.IMMEDIATE
          || release.streamId() == endingStreamId && release.cause().resetsStream()) {
        byOkHttpsReset.put(release.streamId(), release);
      } else if (release.cause().resetsStream()) {
        pendingResets.put(release.streamId(), release);
        resets = true;
      } else {
        metrics.onReleased(release.cause(), release.lingeredNanos());
      }
    }
    if (resets) {
      injectionsWaiting.run();
    }
  }

  /**
   * Releases the eldest lingering stream if the peer has no slot left: its open streams, less those
   * whose reset is on its way, reach the limit grpc-okhttp advertised.
   */
  private boolean freeASlotIfFull() {
    if (!freesSlots || tracker.lingeringCount() == 0 || maxConcurrentStreams == Integer.MAX_VALUE
        || open.size() - pendingResets.size() < maxConcurrentStreams) {
      return false;
    }
    return tracker.streamLimitReached(System.nanoTime());
  }

  // One timer per connection, armed for the eldest stream's deadline; it re-arms for the next.
  private void armGraceTimer() {
    if (graceTimer != null || closed) {
      return;
    }
    long delay = tracker.nanosUntilNextDeadline(System.nanoTime());
    if (delay != EarlyCloseTracker.NO_DEADLINE) {
      graceTimer = timers.schedule(this::graceTimerFired, delay, TimeUnit.NANOSECONDS);
    }
  }

  private synchronized void graceTimerFired() {
    graceTimer = null;
    if (closed) {
      return;
    }
    tracker.expire(System.nanoTime());
    carryOut(0);
    armGraceTimer();
  }

  /** For tests: streams lingering now. */
  synchronized int lingeringCount() {
    return tracker.lingeringCount();
  }
}
