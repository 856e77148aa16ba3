package dev.abortguard.netty;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.core.EarlyCloseTracker;
import dev.abortguard.core.LingeringStreamListener;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * Runs one connection's {@link EarlyCloseTracker} on the connection's event loop: one grace
 * timer for the whole connection, and resets written outside the Netty callbacks that decided
 * them. Shared by the grpc-java and the {@code Http2FrameCodec} adapters, which translate their
 * events into these calls and implement {@link ResetWriter}. Use it from the event loop only.
 */
public final class ConnectionGuard {
  /** Puts a tracker's reset on the wire; each adapter implements it for its handler. */
  public interface ResetWriter {
    /** Writes RST_STREAM(NO_ERROR) for {@code streamId} if it is still open; does not flush. */
    void writeReset(int streamId);

    /** Flushes what was written. */
    void flush();
  }

  private final EventExecutor executor;
  private final ResetWriter writer;
  private final EarlyCloseTracker tracker;
  private final ArrayDeque<Integer> pendingResets = new ArrayDeque<>();
  private final Runnable drainTask = this::drainScheduled;
  private final Runnable graceTask = this::graceTimerFired;
  private boolean drainScheduled;
  private ScheduledFuture<?> graceTimer;

  public ConnectionGuard(
      EventExecutor executor, AbortGuardConfig config, LingeringStreamListener listener, ResetWriter writer) {
    this.executor = executor;
    this.writer = writer;
    this.tracker = new EarlyCloseTracker(
        config.reset(), config.resetGrace().toNanos(), config.lingeringMax(), this::resetLater, listener);
  }

  /** The server sent END_STREAM on {@code streamId} while the peer has not. */
  public void serverEnded(int streamId) {
    tracker.serverEnded(streamId, System.nanoTime());
    armGraceTimer();
  }

  // Every stream that closes passes here; the common case, nothing lingering, costs nothing.

  /** The peer ended its side of {@code streamId}. */
  public void peerEnded(int streamId) {
    if (tracker.lingeringCount() != 0) {
      tracker.peerEnded(streamId, System.nanoTime());
    }
  }

  /** The peer reset {@code streamId}. */
  public void peerReset(int streamId) {
    if (tracker.lingeringCount() != 0) {
      tracker.peerReset(streamId, System.nanoTime());
    }
  }

  /** The server sent GOAWAY. */
  public void goAwaySent() {
    tracker.goAwaySent(System.nanoTime());
  }

  /** The connection closed: forget its streams, drop unwritten resets, stop the timer. */
  public void connectionClosed() {
    tracker.connectionClosed(System.nanoTime());
    pendingResets.clear();
    if (graceTimer != null) {
      graceTimer.cancel(false);
      graceTimer = null;
    }
  }

  /**
   * Writes the resets decided since the last flush, without flushing: a handler calls it just
   * before passing a flush on, so that an {@code immediate} reset leaves with the trailers.
   */
  public void writePendingResets() {
    Integer streamId;
    while ((streamId = pendingResets.poll()) != null) {
      writer.writeReset(streamId);
    }
  }

  /** Whether {@code streamId} is lingering. */
  public boolean isLingering(int streamId) {
    return tracker.isLingering(streamId);
  }

  /** Streams lingering on this connection. */
  public int lingeringCount() {
    return tracker.lingeringCount();
  }

  // Tracker decisions arrive inside Netty callbacks (a write, a listener notification); writing
  // there would re-enter the HTTP/2 codec, so the reset waits for the next flush or task.
  private void resetLater(int streamId) {
    pendingResets.add(streamId);
    if (!drainScheduled) {
      drainScheduled = true;
      executor.execute(drainTask);
    }
  }

  private void drainScheduled() {
    drainScheduled = false;
    drain();
  }

  private void drain() {
    if (!pendingResets.isEmpty()) {
      writePendingResets();
      writer.flush();
    }
  }

  // One timer per connection, armed for the eldest stream's deadline. When that stream is
  // released early the timer fires for nothing and re-arms for the next one.
  private void armGraceTimer() {
    if (graceTimer != null) {
      return;
    }
    long delay = tracker.nanosUntilNextDeadline(System.nanoTime());
    if (delay != EarlyCloseTracker.NO_DEADLINE) {
      graceTimer = executor.schedule(graceTask, delay, TimeUnit.NANOSECONDS);
    }
  }

  private void graceTimerFired() {
    graceTimer = null;
    tracker.expire(System.nanoTime());
    drain();
    armGraceTimer();
  }
}
