package dev.abortguard.internal.core;

import dev.abortguard.internal.GuardParts;
import dev.abortguard.internal.Internal;
import dev.abortguard.internal.metrics.GuardMetrics;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Carries out one connection's {@link EarlyCloseTracker} decisions, for every stack: the adapters
 * translate what crossed the wire into these calls, and the driver does the rest through the
 * stack's {@link ConnectionPort}. It resets released streams outside the stack callbacks that
 * decided them, counts a release only once its reset is written, frees a stream slot when the
 * peer has none left, runs one grace timer for the whole connection, and sweeps on close.
 *
 * <p>Under {@code deferred}, lingering streams never cost a new call its slot: a peer counts every
 * stream it has not ended against the connection's MAX_CONCURRENT_STREAMS, lingering ones
 * included, so when its open streams reach that limit the eldest lingering stream is reset (a proxy
 * that never ends upstream streams, such as nghttpx, would otherwise queue new calls behind the
 * grace).
 *
 * <p>Not thread-safe: call it on the connection's thread, or under the one lock that stands for it.
 */
@Internal
public final class ConnectionDriver {
  /** What becomes of a reset the stack itself writes after its END_STREAM ({@link #stackResets}). */
  public enum StackReset {
    /** It carries out a reset the guard decided: let it pass, the guard writes none of its own. */
    CARRIES_GUARDS,
    /** The stream lingers: withhold it, the policy decides when a reset goes out. */
    WITHHELD,
    /** Not an early close the guard tracks: the stack's own business. */
    NOT_TRACKED
  }

  private final ConnectionPort port;
  private final GuardMetrics metrics;
  private final EarlyCloseTracker tracker;
  /** Releases whose RST_STREAM is still to be written, by stream id. */
  private final LinkedHashMap<Integer, Release> pendingResets = new LinkedHashMap<>();
  /** Releases that the stack's own RST_STREAM(NO_ERROR), about to follow its END_STREAM, carries out. */
  private final Map<Integer, Release> byStackReset = new HashMap<>();
  private final Runnable drainTask = this::drainScheduled;
  private final Runnable graceTask = this::graceTimerFired;
  private boolean drainScheduled;
  private Runnable cancelGraceTimer;
  private boolean closed;

  /** The driver of one connection of the guard whose parts are {@code parts}. */
  public ConnectionDriver(GuardParts parts, ConnectionPort port) {
    this.port = port;
    this.metrics = parts.metrics();
    this.tracker = new EarlyCloseTracker(parts.config().reset(), parts.config().resetGrace().toNanos(),
        parts.config().lingeringMax(), parts.budget());
  }

  /**
   * The server sent END_STREAM on {@code streamId} while the peer has not.
   *
   * @return whether the stream's reset is withheld: the abort's {@code reset_withheld} mitigation
   */
  public boolean serverEnded(int streamId) {
    return serverEnded(streamId, false);
  }

  /**
   * Like {@link #serverEnded(int)}, for a stack that resets such a stream with NO_ERROR itself
   * right after its END_STREAM ({@code stackResetFollows}, grpc-okhttp): a reset the guard decides
   * for it now goes out as that one (see {@link #stackResets}), not as a second.
   */
  public boolean serverEnded(int streamId, boolean stackResetFollows) {
    if (tracker.serverEnded(streamId, port.nanoTime())) {
      metrics.onLingering();
    }
    boolean withheld = tracker.isWithholding(streamId);
    int byStack = stackResetFollows ? streamId : 0;
    carryOut(byStack);
    if (freeASlotIfFull()) {
      carryOut(byStack); // the eldest may be this very stream
    }
    armGraceTimer();
    return withheld;
  }

  /** The peer opened a stream. */
  public void peerOpened() {
    if (freeASlotIfFull()) {
      carryOut(0);
    }
  }

  // Every stream that closes passes here; the common case, nothing lingering, costs nothing.

  /** The peer ended its side of {@code streamId}. */
  public void peerEnded(int streamId) {
    released(streamId, ReleaseCause.PEER_END_STREAM);
  }

  /** The peer reset {@code streamId}. */
  public void peerReset(int streamId) {
    released(streamId, ReleaseCause.PEER_RESET);
  }

  /** The server's own stack (not this guard) reset {@code streamId}. */
  public void serverReset(int streamId) {
    released(streamId, ReleaseCause.SERVER_RESET);
  }

  /**
   * The stack is about to write RST_STREAM(NO_ERROR) on {@code streamId} itself, after its own
   * END_STREAM: what to do with it.
   */
  public StackReset stackResets(int streamId) {
    Release decided = byStackReset.remove(streamId);
    if (decided != null) {
      // Counted before the bytes are written; a write that fails closes the connection anyway.
      metrics.onReleased(decided.cause(), decided.lingeredNanos());
      return StackReset.CARRIES_GUARDS;
    }
    return tracker.isLingering(streamId) ? StackReset.WITHHELD : StackReset.NOT_TRACKED;
  }

  /** The server sent GOAWAY; {@code cause} says why, as the adapter reads the frame. */
  public void goAwaySent(ReleaseCause cause) {
    tracker.goAwaySent(cause, port.nanoTime());
    carryOut(0);
  }

  /** The connection closed: release its streams, drop unwritten resets, stop the timer. */
  public void connectionClosed() {
    tracker.connectionClosed(port.nanoTime());
    carryOut(0);
    closed = true;
    for (Release release : pendingResets.values()) {
      metrics.onReleased(ReleaseCause.CONNECTION_CLOSED, release.lingeredNanos());
    }
    for (Release release : byStackReset.values()) {
      metrics.onReleased(ReleaseCause.CONNECTION_CLOSED, release.lingeredNanos());
    }
    pendingResets.clear();
    byStackReset.clear();
    if (cancelGraceTimer != null) {
      cancelGraceTimer.run();
      cancelGraceTimer = null;
    }
  }

  /**
   * Writes the resets decided since the last flush, without flushing: a stack calls it just
   * before a flush passes, so that an {@code immediate} reset leaves with the trailers.
   */
  public void writePendingResets() {
    if (pendingResets.isEmpty()) {
      return;
    }
    Iterator<Release> it = pendingResets.values().iterator();
    while (it.hasNext()) {
      Release release = it.next();
      it.remove();
      // Counted as what it was decided as only once the RST_STREAM is on the wire.
      port.writeReset(release.streamId(), onTheWire -> metrics.onReleased(
          onTheWire ? release.cause() : ReleaseCause.CONNECTION_CLOSED, release.lingeredNanos()));
    }
  }

  /**
   * Whether the stack should write the pending resets just before each flush passes ({@link
   * #writePendingResets}), so that a reset leaves with the trailers that caused it. Otherwise
   * resets go out with a flush of their own, after whatever the stack is flushing: a GOAWAY that
   * closes the connection, for one, leaves no reset behind it whose fate is unknown.
   */
  public boolean resetsWithTrailers() {
    return tracker.resetsWithTrailers();
  }

  /** Streams lingering on this connection now. */
  public int lingeringCount() {
    return tracker.lingeringCount();
  }

  private void released(int streamId, ReleaseCause cause) {
    if (!pendingResets.isEmpty() || !byStackReset.isEmpty()) {
      Release pending = pendingResets.remove(streamId);
      if (pending == null) {
        pending = byStackReset.remove(streamId);
      }
      if (pending != null) {
        // Closed before the guard's reset went out: the peer or the server stack got there first.
        metrics.onReleased(cause, pending.lingeredNanos());
        return;
      }
    }
    if (tracker.lingeringCount() == 0) {
      return;
    }
    tracker.closed(streamId, cause, port.nanoTime());
    carryOut(0);
  }

  /**
   * Takes the tracker's decisions: resets wait for a flush or a task (or, for {@code
   * stackResetStream}, the stack's own reset), other releases count now.
   */
  private void carryOut(int stackResetStream) {
    Release release;
    boolean resets = false;
    while ((release = tracker.pollRelease()) != null) {
      if (!release.cause().resetsStream()) {
        metrics.onReleased(release.cause(), release.lingeredNanos());
      } else if (release.streamId() == stackResetStream) {
        byStackReset.put(release.streamId(), release);
      } else {
        pendingResets.put(release.streamId(), release);
        resets = true;
      }
    }
    if (resets) {
      scheduleDrain();
    }
  }

  // Tracker decisions arrive inside the stack's callbacks (a write, a listener notification);
  // writing there would re-enter its codec, so the reset waits for the next flush or task.
  private void scheduleDrain() {
    if (!drainScheduled) {
      drainScheduled = true;
      port.execute(drainTask);
    }
  }

  private void drainScheduled() {
    drainScheduled = false;
    if (!pendingResets.isEmpty()) {
      writePendingResets();
      port.flush();
    }
  }

  /**
   * Releases the eldest lingering stream if the peer has no slot left: its open streams, less
   * those whose reset is already on its way, reach the limit this side advertised. The tracker
   * says whether the policy frees slots at all.
   */
  private boolean freeASlotIfFull() {
    if (tracker.lingeringCount() == 0) {
      return false;
    }
    int limit = port.peerStreamLimit();
    if (limit == Integer.MAX_VALUE || port.peerOpenStreams() - pendingResets.size() < limit) {
      return false;
    }
    return tracker.streamLimitReached(port.nanoTime());
  }

  // One timer per connection, armed for the eldest stream's deadline. When that stream is
  // released early the timer fires for nothing and re-arms for the next one.
  private void armGraceTimer() {
    if (cancelGraceTimer != null || closed) {
      return;
    }
    long delay = tracker.nanosUntilNextDeadline(port.nanoTime());
    if (delay != EarlyCloseTracker.NO_DEADLINE) {
      cancelGraceTimer = port.schedule(graceTask, delay);
    }
  }

  private void graceTimerFired() {
    cancelGraceTimer = null;
    if (closed) {
      return;
    }
    tracker.expire(port.nanoTime());
    carryOut(0);
    drainScheduled();
    armGraceTimer();
  }
}
