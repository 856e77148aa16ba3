package dev.abortguard.internal.core;

import dev.abortguard.internal.Internal;
import dev.abortguard.ResetPolicy;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Decides, for one HTTP/2 connection, what becomes of <em>early-closed</em> streams: streams the
 * server has ended (END_STREAM sent) while the peer has not.
 *
 * <p>Plain Java driven by events: an adapter reports what crossed the wire, passing the current
 * {@link System#nanoTime()}, then drains the tracker's decisions with {@link #pollRelease()} and
 * carries them out (a {@link Release} whose cause {@linkplain ReleaseCause#resetsStream() resets
 * the stream} asks for RST_STREAM(NO_ERROR)). The tracker never calls back into the adapter. Under
 * {@link ResetPolicy#DEFERRED} the adapter also calls {@link #expire} once {@link
 * #nanosUntilNextDeadline} has passed: one timer per connection, not one per stream. Not
 * thread-safe: use it from the connection's thread only. Only {@link ConnectionDriver} makes and
 * drives one.
 */
@Internal
public final class EarlyCloseTracker {
  /** What {@link #nanosUntilNextDeadline} answers when no stream waits for its grace to run out. */
  public static final long NO_DEADLINE = -1;

  private final ResetPolicy policy;
  private final long graceNanos;
  private final int maxLingering;
  private final LingeringBudget budget;

  /**
   * Stream id to the {@code nanoTime} it started lingering at. Insertion order is age order, and
   * as the grace is the same for every stream it is also deadline order: the eldest entry is both
   * the next to expire and the one an overflow evicts.
   */
  private final LinkedHashMap<Integer, Long> lingering = new LinkedHashMap<>();
  private final ArrayDeque<Release> decided = new ArrayDeque<>();

  /** Set by the first GOAWAY the server sends: what later early closes are released as. */
  private ReleaseCause goingAway;
  private boolean closed;

  /**
   * @param maxLingering lingering streams allowed on this connection before the eldest is reset
   * @param budget the bound shared with the guard's other connections
   */
  public EarlyCloseTracker(ResetPolicy policy, long graceNanos, int maxLingering, LingeringBudget budget) {
    if (graceNanos <= 0 || maxLingering < 1) {
      throw new IllegalArgumentException(
          "graceNanos must be > 0 and maxLingering >= 1: " + graceNanos + ", " + maxLingering);
    }
    this.policy = Objects.requireNonNull(policy, "policy");
    this.graceNanos = graceNanos;
    this.maxLingering = maxLingering;
    this.budget = Objects.requireNonNull(budget, "budget");
  }

  /**
   * The server sent END_STREAM on {@code streamId} while the peer still has its side open.
   *
   * @return whether the stream is an early close new to this tracker (it lingers, or a release
   *     for it is now waiting in {@link #pollRelease()})
   */
  public boolean serverEnded(int streamId, long nowNanos) {
    if (closed || lingering.containsKey(streamId)) {
      return false;
    }
    if (policy == ResetPolicy.IMMEDIATE) {
      decided.add(new Release(streamId, ReleaseCause.IMMEDIATE, 0));
    } else if (policy == ResetPolicy.NEVER) {
      budget.forceAcquire();
      lingering.put(streamId, nowNanos);
    } else if (goingAway != null) {
      decided.add(new Release(streamId, goingAway, 0));
    } else if (!budget.tryAcquire()) {
      decided.add(new Release(streamId, ReleaseCause.TOTAL_LIMIT, 0));
    } else {
      lingering.put(streamId, nowNanos);
      if (lingering.size() > maxLingering) {
        releaseEldest(ReleaseCause.OVERFLOW, nowNanos);
      }
    }
    return true;
  }

  /** The peer ended its side of {@code streamId} (END_STREAM received). */
  public void peerEnded(int streamId, long nowNanos) {
    forget(streamId, ReleaseCause.PEER_END_STREAM, nowNanos);
  }

  /** The peer reset {@code streamId} (RST_STREAM received). */
  public void peerReset(int streamId, long nowNanos) {
    forget(streamId, ReleaseCause.PEER_RESET, nowNanos);
  }

  /** The server's own stack, not this tracker, reset {@code streamId}. */
  public void serverReset(int streamId, long nowNanos) {
    forget(streamId, ReleaseCause.SERVER_RESET, nowNanos);
  }

  /**
   * {@code streamId} closed, not by this tracker's decision: the peer ended or reset it, or the
   * server's stack reset it ({@code cause} is {@link ReleaseCause#PEER_END_STREAM}, {@link
   * ReleaseCause#PEER_RESET} or {@link ReleaseCause#SERVER_RESET}). Adapters that learn the cause
   * as a value pass it on here rather than choosing among the three methods above.
   */
  public void closed(int streamId, ReleaseCause cause, long nowNanos) {
    if (cause != ReleaseCause.PEER_END_STREAM && cause != ReleaseCause.PEER_RESET
        && cause != ReleaseCause.SERVER_RESET) {
      throw new IllegalArgumentException("not a cause from outside the tracker: " + cause);
    }
    forget(streamId, cause, nowNanos);
  }

  /** Releases every stream whose grace has run out by {@code nowNanos}. */
  public void expire(long nowNanos) {
    if (policy != ResetPolicy.DEFERRED) {
      return;
    }
    while (!lingering.isEmpty() && nowNanos - eldestSince() >= graceNanos) {
      releaseEldest(ReleaseCause.GRACE_EXPIRED, nowNanos);
    }
  }

  /**
   * The peer has no stream slot left on this connection: under {@link ResetPolicy#DEFERRED}
   * release the eldest lingering stream ({@link ReleaseCause#STREAM_LIMIT}) so that a new call
   * gets a slot. A peer counts the streams it has not ended against the limit, lingering ones too.
   *
   * @return whether a stream was released
   */
  public boolean streamLimitReached(long nowNanos) {
    if (policy != ResetPolicy.DEFERRED || lingering.isEmpty()) {
      return false;
    }
    releaseEldest(ReleaseCause.STREAM_LIMIT, nowNanos);
    return true;
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
   * The server sent GOAWAY: release every lingering stream, and every stream ended from now on,
   * so that a closing connection is not held up by peers that never close. {@link
   * ResetPolicy#NEVER} releases nothing.
   *
   * @param cause {@link ReleaseCause#SHUTDOWN}, {@link ReleaseCause#GOAWAY} or {@link
   *     ReleaseCause#CONNECTION_ERROR}, as the adapter reads the GOAWAY; the first one sticks
   */
  public void goAwaySent(ReleaseCause cause, long nowNanos) {
    if (goingAway == null) {
      goingAway = Objects.requireNonNull(cause, "cause");
    }
    if (policy != ResetPolicy.NEVER) {
      while (!lingering.isEmpty()) {
        releaseEldest(goingAway, nowNanos);
      }
    }
  }

  /** The connection closed: release every stream; later events are ignored. */
  public void connectionClosed(long nowNanos) {
    closed = true;
    while (!lingering.isEmpty()) {
      releaseEldest(ReleaseCause.CONNECTION_CLOSED, nowNanos);
    }
  }

  /** The next decision to carry out, in the order taken, or {@code null} when there is none. */
  public Release pollRelease() {
    return decided.poll();
  }

  /** Streams lingering on this connection now. */
  public int lingeringCount() {
    return lingering.size();
  }

  /**
   * Whether a reset this tracker decides at an early close should leave in the same flush as the
   * trailers ({@link ResetPolicy#IMMEDIATE}); others go out with a flush of their own.
   */
  public boolean resetsWithTrailers() {
    return policy == ResetPolicy.IMMEDIATE;
  }

  /**
   * Whether the reset of {@code streamId} is withheld: it lingers under {@link
   * ResetPolicy#DEFERRED}. Not so for a stream reset at once (a bound, a GOAWAY) or kept under
   * {@link ResetPolicy#NEVER}, which withholds nothing stock servers would send.
   */
  public boolean isWithholding(int streamId) {
    return policy == ResetPolicy.DEFERRED && isLingering(streamId);
  }

  /** Whether {@code streamId} is lingering. */
  public boolean isLingering(int streamId) {
    return !lingering.isEmpty() && lingering.containsKey(streamId);
  }

  private void forget(int streamId, ReleaseCause cause, long nowNanos) {
    if (lingering.isEmpty()) {
      return; // every normal stream's close comes here: skip the boxing
    }
    Long since = lingering.remove(streamId);
    if (since != null) {
      budget.release();
      decided.add(new Release(streamId, cause, nowNanos - since));
    }
  }

  private long eldestSince() {
    return lingering.values().iterator().next();
  }

  private void releaseEldest(ReleaseCause cause, long nowNanos) {
    Iterator<Map.Entry<Integer, Long>> it = lingering.entrySet().iterator();
    Map.Entry<Integer, Long> eldest = it.next();
    it.remove();
    budget.release();
    decided.add(new Release(eldest.getKey(), cause, nowNanos - eldest.getValue()));
  }
}
