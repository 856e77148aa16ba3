package dev.abortguard.core;

import dev.abortguard.ResetPolicy;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Decides, for one HTTP/2 connection, what becomes of <em>early-closed</em> streams: streams the
 * server has ended (END_STREAM sent) while the peer has not.
 *
 * <p>Plain Java driven by events: an adapter reports what crossed the wire, passing the current
 * {@link System#nanoTime()}, and carries out the resets this tracker asks of its
 * {@link StreamResetter}. Under {@link ResetPolicy#DEFERRED} the adapter also calls {@link
 * #expire} once {@link #nanosUntilNextDeadline} has passed: one timer per connection, not one per
 * stream. Not thread-safe: use it from the connection's thread only.
 */
public final class EarlyCloseTracker {
  /** What {@link #nanosUntilNextDeadline} answers when no stream waits for its grace to run out. */
  public static final long NO_DEADLINE = -1;

  private final ResetPolicy policy;
  private final long graceNanos;
  private final int maxLingering;
  private final StreamResetter resetter;
  private final LingeringStreamListener listener;

  /**
   * Stream id to the {@code nanoTime} it started lingering at. Insertion order is age order, and
   * as the grace is the same for every stream it is also deadline order: the eldest entry is both
   * the next to expire and the one an overflow evicts.
   */
  private final LinkedHashMap<Integer, Long> lingering = new LinkedHashMap<>();

  private boolean goAwaySent;
  private boolean closed;

  public EarlyCloseTracker(
      ResetPolicy policy,
      long graceNanos,
      int maxLingering,
      StreamResetter resetter,
      LingeringStreamListener listener) {
    if (graceNanos <= 0 || maxLingering < 1) {
      throw new IllegalArgumentException(
          "graceNanos must be > 0 and maxLingering >= 1: " + graceNanos + ", " + maxLingering);
    }
    this.policy = Objects.requireNonNull(policy, "policy");
    this.graceNanos = graceNanos;
    this.maxLingering = maxLingering;
    this.resetter = Objects.requireNonNull(resetter, "resetter");
    this.listener = Objects.requireNonNull(listener, "listener");
  }

  /** The server sent END_STREAM on {@code streamId} while the peer still has its side open. */
  public void serverEnded(int streamId, long nowNanos) {
    if (closed || lingering.containsKey(streamId)) {
      return;
    }
    listener.onLingering();
    if (policy == ResetPolicy.IMMEDIATE) {
      release(streamId, nowNanos, ReleaseCause.IMMEDIATE, nowNanos);
    } else if (goAwaySent && policy != ResetPolicy.NEVER) {
      release(streamId, nowNanos, ReleaseCause.SHUTDOWN, nowNanos);
    } else {
      lingering.put(streamId, nowNanos);
      if (policy != ResetPolicy.NEVER && lingering.size() > maxLingering) {
        releaseEldest(ReleaseCause.OVERFLOW, nowNanos);
      }
    }
  }

  /** The peer ended its side of {@code streamId} (END_STREAM received). */
  public void peerEnded(int streamId, long nowNanos) {
    forget(streamId, ReleaseCause.PEER_END_STREAM, nowNanos);
  }

  /** The peer reset {@code streamId} (RST_STREAM received). */
  public void peerReset(int streamId, long nowNanos) {
    forget(streamId, ReleaseCause.PEER_RESET, nowNanos);
  }

  /** Resets every stream whose grace has run out by {@code nowNanos}. */
  public void expire(long nowNanos) {
    if (policy != ResetPolicy.DEFERRED) {
      return;
    }
    while (!lingering.isEmpty() && nowNanos - eldestSince() >= graceNanos) {
      releaseEldest(ReleaseCause.GRACE_EXPIRED, nowNanos);
    }
  }

  /**
   * Nanoseconds from {@code nowNanos} until {@link #expire} has work (0 when overdue), or {@link
   * #NO_DEADLINE}.
   */
  public long nanosUntilNextDeadline(long nowNanos) {
    if (policy != ResetPolicy.DEFERRED || lingering.isEmpty()) {
      return NO_DEADLINE;
    }
    return Math.max(0, eldestSince() + graceNanos - nowNanos);
  }

  /**
   * The server sent GOAWAY: reset every lingering stream, and every stream ended from now on, so
   * that graceful shutdown is not held up by peers that never close. {@link ResetPolicy#NEVER}
   * resets nothing.
   */
  public void goAwaySent(long nowNanos) {
    goAwaySent = true;
    if (policy != ResetPolicy.NEVER) {
      while (!lingering.isEmpty()) {
        releaseEldest(ReleaseCause.SHUTDOWN, nowNanos);
      }
    }
  }

  /** The connection closed: forget every stream; later events are ignored. */
  public void connectionClosed(long nowNanos) {
    closed = true;
    Iterator<Map.Entry<Integer, Long>> it = lingering.entrySet().iterator();
    while (it.hasNext()) {
      long since = it.next().getValue();
      it.remove();
      listener.onReleased(ReleaseCause.CONNECTION_CLOSED, nowNanos - since);
    }
  }

  /** Streams lingering on this connection now. */
  public int lingeringCount() {
    return lingering.size();
  }

  /** Whether {@code streamId} is lingering. */
  public boolean isLingering(int streamId) {
    return lingering.containsKey(streamId);
  }

  private void forget(int streamId, ReleaseCause cause, long nowNanos) {
    if (lingering.isEmpty()) {
      return; // every normal stream's close comes here: skip the boxing
    }
    Long since = lingering.remove(streamId);
    if (since != null) {
      listener.onReleased(cause, nowNanos - since);
    }
  }

  private long eldestSince() {
    return lingering.values().iterator().next();
  }

  private void releaseEldest(ReleaseCause cause, long nowNanos) {
    Iterator<Map.Entry<Integer, Long>> it = lingering.entrySet().iterator();
    Map.Entry<Integer, Long> eldest = it.next();
    it.remove();
    release(eldest.getKey(), eldest.getValue(), cause, nowNanos);
  }

  private void release(int streamId, long sinceNanos, ReleaseCause cause, long nowNanos) {
    listener.onReleased(cause, nowNanos - sinceNanos);
    resetter.resetWithNoError(streamId);
  }
}
