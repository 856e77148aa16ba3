package dev.abortguard.testing;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Bounded waits for server-side conditions that no frame announces. */
public final class Await {
  private Await() {}

  /**
   * Polls {@code condition} until it holds, for at most {@code timeout}; only for state no event
   * reports, such as the server noticing that a socket closed.
   */
  public static void until(String what, BooleanSupplier condition, Duration timeout) {
    if (!holdsWithin(condition, timeout)) {
      throw new AssertionError("timed out after " + timeout + " waiting for " + what);
    }
  }

  /**
   * Polls {@code condition} for at most {@code timeout}: whether it came to hold. For callers to
   * which a timeout is an outcome to report, not a failure.
   */
  public static boolean holdsWithin(BooleanSupplier condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        return false;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
    return true;
  }
}
