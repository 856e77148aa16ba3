package dev.abortguard.internal.netty;

import dev.abortguard.internal.Internal;
import dev.abortguard.AbortGuardConfig;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.EarlyCloseTracker;
import dev.abortguard.internal.core.LingeringBudget;
import dev.abortguard.internal.core.Release;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.internal.metrics.GuardMetrics;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Runs one connection's {@link EarlyCloseTracker} on the connection's event loop and carries out
 * its decisions through the connection's own {@link Http2ConnectionHandler}: one grace timer for
 * the whole connection, resets written outside the Netty callbacks that decided them, and a
 * release counted only once its reset is written. Shared by the grpc-java and the
 * {@code Http2FrameCodec} adapters, which translate their events into these calls. Use it from
 * the event loop only.
 *
 * <p>Under {@code deferred}, lingering streams never cost a new call its slot: a peer counts every
 * stream it has not ended against the connection's {@code MAX_CONCURRENT_STREAMS}, lingering ones
 * included, so when the peer's open streams reach that limit the eldest lingering stream is reset
 * (a proxy that never ends upstream streams, such as nghttpx, would otherwise queue new calls
 * behind the grace).
 */
@Internal
public final class ConnectionGuard {
  private final EventExecutor executor;
  /** The executor's clock: what its timers measure delays with (System.nanoTime on event loops). */
  private final LongSupplier clock;
  private final Http2ConnectionHandler handler;
  private final Supplier<ChannelHandlerContext> handlerContext;
  private final GuardMetrics metrics;
  private final EarlyCloseTracker tracker;
  private final boolean freesSlots;
  /** Releases whose RST_STREAM is still to be written, by stream id. */
  private final LinkedHashMap<Integer, Release> pendingResets = new LinkedHashMap<>();
  private final Runnable drainTask = this::drainScheduled;
  private final Runnable graceTask = this::graceTimerFired;
  private boolean drainScheduled;
  private ScheduledFuture<?> graceTimer;

  /**
   * @param handlerContext the handler's context, looked up when first needed (grpc-java adds its
   *     handler only after protocol negotiation); {@code null} once the handler is gone
   * @param clock nanoseconds on the clock {@code executor} schedules by
   */
  public ConnectionGuard(
      EventExecutor executor,
      LongSupplier clock,
      Http2ConnectionHandler handler,
      Supplier<ChannelHandlerContext> handlerContext,
      AbortGuardConfig config,
      LingeringBudget budget,
      GuardMetrics metrics) {
    this.executor = executor;
    this.clock = clock;
    this.handler = handler;
    this.handlerContext = handlerContext;
    this.metrics = metrics;
    this.tracker = new EarlyCloseTracker(
        config.reset(), config.resetGrace().toNanos(), config.lingeringMax(), budget);
    // Under never nothing is ever reset: lingering streams keep their slots, as in stock servers.
    this.freesSlots = config.reset() == ResetPolicy.DEFERRED;
  }

  /** The server sent END_STREAM on {@code streamId} while the peer has not. */
  public void serverEnded(int streamId) {
    if (tracker.serverEnded(streamId, clock.getAsLong())) {
      metrics.onLingering();
    }
    carryOut();
    if (freeASlotIfFull()) {
      carryOut();
    }
    armGraceTimer();
  }

  /** The peer opened a stream. */
  public void peerOpened() {
    if (freeASlotIfFull()) {
      carryOut();
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

  /** The server sent GOAWAY; {@code cause} says why, as {@link StreamStateListener} reads it. */
  public void goAwaySent(ReleaseCause cause) {
    tracker.goAwaySent(cause, clock.getAsLong());
    carryOut();
  }

  /** The connection closed: release its streams, drop unwritten resets, stop the timer. */
  public void connectionClosed() {
    tracker.connectionClosed(clock.getAsLong());
    carryOut();
    for (Release release : pendingResets.values()) {
      metrics.onReleased(ReleaseCause.CONNECTION_CLOSED, release.lingeredNanos());
    }
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
    if (pendingResets.isEmpty()) {
      return;
    }
    Iterator<Release> it = pendingResets.values().iterator();
    while (it.hasNext()) {
      Release release = it.next();
      it.remove();
      writeReset(release);
    }
  }

  private void released(int streamId, ReleaseCause cause) {
    if (!pendingResets.isEmpty()) {
      Release pending = pendingResets.remove(streamId);
      if (pending != null) {
        // Closed before the guard's reset went out: the peer or the server stack got there first.
        metrics.onReleased(cause, pending.lingeredNanos());
        return;
      }
    }
    if (tracker.lingeringCount() == 0) {
      return;
    }
    tracker.closed(streamId, cause, clock.getAsLong());
    carryOut();
  }

  /** Takes the tracker's decisions: resets wait for a flush or a task, other releases count now. */
  private void carryOut() {
    Release release;
    boolean resets = false;
    while ((release = tracker.pollRelease()) != null) {
      if (release.cause().resetsStream()) {
        pendingResets.put(release.streamId(), release);
        resets = true;
      } else {
        metrics.onReleased(release.cause(), release.lingeredNanos());
      }
    }
    if (resets) {
      scheduleDrain();
    }
  }

  private void writeReset(Release release) {
    Http2Stream stream = handler.connection().stream(release.streamId());
    ChannelHandlerContext ctx = handlerContext.get();
    if (stream == null || stream.state() != Http2Stream.State.HALF_CLOSED_LOCAL || ctx == null) {
      // Closed in a way no listener reported (the codec tearing down): nothing left to reset.
      metrics.onReleased(ReleaseCause.CONNECTION_CLOSED, release.lingeredNanos());
      return;
    }
    ChannelFuture written =
        handler.resetStream(ctx, release.streamId(), Http2Error.NO_ERROR.code(), ctx.newPromise());
    // Counted as what it was decided as only once the RST_STREAM is on the wire.
    written.addListener(f -> metrics.onReleased(
        f.isSuccess() ? release.cause() : ReleaseCause.CONNECTION_CLOSED, release.lingeredNanos()));
  }

  // Tracker decisions arrive inside Netty callbacks (a write, a listener notification); writing
  // there would re-enter the HTTP/2 codec, so the reset waits for the next flush or task.
  private void scheduleDrain() {
    if (!drainScheduled) {
      drainScheduled = true;
      executor.execute(drainTask);
    }
  }

  private void drainScheduled() {
    drainScheduled = false;
    if (!pendingResets.isEmpty()) {
      writePendingResets();
      ChannelHandlerContext ctx = handlerContext.get();
      if (ctx != null) {
        ctx.flush();
      }
    }
  }

  /**
   * Releases the eldest lingering stream if the peer has no slot left: its open streams, less
   * those whose reset is already on its way, reach the limit this side advertised.
   */
  private boolean freeASlotIfFull() {
    if (!freesSlots || tracker.lingeringCount() == 0) {
      return false;
    }
    Http2Connection.Endpoint<?> remote = handler.connection().remote();
    int limit = remote.maxActiveStreams();
    if (limit == Integer.MAX_VALUE || remote.numActiveStreams() - pendingResets.size() < limit) {
      return false;
    }
    return tracker.streamLimitReached(clock.getAsLong());
  }

  // One timer per connection, armed for the eldest stream's deadline. When that stream is
  // released early the timer fires for nothing and re-arms for the next one.
  private void armGraceTimer() {
    if (graceTimer != null) {
      return;
    }
    long delay = tracker.nanosUntilNextDeadline(clock.getAsLong());
    if (delay != EarlyCloseTracker.NO_DEADLINE) {
      graceTimer = executor.schedule(graceTask, delay, TimeUnit.NANOSECONDS);
    }
  }

  private void graceTimerFired() {
    graceTimer = null;
    tracker.expire(clock.getAsLong());
    carryOut();
    drainScheduled();
    armGraceTimer();
  }
}
