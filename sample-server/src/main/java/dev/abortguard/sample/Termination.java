package dev.abortguard.sample;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Waiting on a future a server completes when it has stopped (Armeria's and Vert.x's demo
 * servers): completed exceptionally counts as stopped too.
 */
final class Termination {
  private Termination() {}

  /** Waits at most {@code timeout}; whether {@code terminated} completed. */
  static boolean await(CompletableFuture<?> terminated, Duration timeout) throws InterruptedException {
    try {
      terminated.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      return true;
    }
  }

  /** Waits until {@code terminated} completes. */
  static void await(CompletableFuture<?> terminated) throws InterruptedException {
    try {
      terminated.get();
    } catch (ExecutionException e) {
      // terminated either way
    }
  }
}
