package dev.abortguard.internal.core;

import dev.abortguard.internal.Internal;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bound on lingering streams across every connection a guard serves
 * ({@code abortguard.lingering.maxTotal}): one counter shared by all of its trackers, O(1) and
 * thread-safe.
 */
@Internal
public final class LingeringBudget {
  private final int max;
  private final AtomicInteger used = new AtomicInteger();

  /** A budget of {@code max} streams, at least 1. */
  public LingeringBudget(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("max must be >= 1: " + max);
    }
    this.max = max;
  }

  /** Takes one stream's place if one is free. */
  public boolean tryAcquire() {
    int now;
    do {
      now = used.get();
      if (now >= max) {
        return false;
      }
    } while (!used.compareAndSet(now, now + 1));
    return true;
  }

  /** Takes a place even past the bound (the {@code never} policy resets nothing, so it only counts). */
  void forceAcquire() {
    used.incrementAndGet();
  }

  /** Gives one place back. */
  public void release() {
    used.decrementAndGet();
  }

  /** Streams lingering now, across every connection. */
  public int used() {
    return used.get();
  }

  /** The bound. */
  public int max() {
    return max;
  }
}
