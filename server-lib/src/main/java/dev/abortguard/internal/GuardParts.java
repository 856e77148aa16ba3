package dev.abortguard.internal;

import dev.abortguard.AbortGuard;
import dev.abortguard.AbortGuardConfig;
import dev.abortguard.core.LingeringBudget;
import dev.abortguard.internal.metrics.GuardMetrics;
import java.util.Objects;
import java.util.function.Function;

/**
 * What an {@link AbortGuard} shares with the HTTP/2 adapters it serves: its settings, its bound on
 * lingering streams across connections and its meters. One per guard: its own grpc-java adapter
 * holds it, and abortguard's adapters in other artifacts (Armeria, grpc-okhttp) reach it through
 * {@link #of}. Internal: not an API, may change in any release.
 */
public final class GuardParts {
  private static Function<AbortGuard, GuardParts> access;

  private final AbortGuardConfig config;
  private final LingeringBudget budget;
  private final GuardMetrics metrics;

  /** The parts of one guard; made by the guard itself. */
  public GuardParts(AbortGuardConfig config, LingeringBudget budget, GuardMetrics metrics) {
    this.config = Objects.requireNonNull(config, "config");
    this.budget = Objects.requireNonNull(budget, "budget");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  /**
   * Called once, by {@link AbortGuard}'s class initialiser: how to reach a guard's parts.
   *
   * @throws IllegalStateException if called again
   */
  public static synchronized void setAccess(Function<AbortGuard, GuardParts> access) {
    if (GuardParts.access != null) {
      throw new IllegalStateException("GuardParts access is set once, by AbortGuard");
    }
    GuardParts.access = Objects.requireNonNull(access, "access");
  }

  /** {@code guard}'s parts. */
  public static GuardParts of(AbortGuard guard) {
    Objects.requireNonNull(guard, "guard");
    Function<AbortGuard, GuardParts> reader;
    synchronized (GuardParts.class) {
      // Set by AbortGuard's class initialiser, which has run: guard is an instance.
      reader = access;
    }
    return reader.apply(guard);
  }

  /** The guard's effective settings. */
  public AbortGuardConfig config() {
    return config;
  }

  /** The bound on lingering streams shared by every connection the guard serves. */
  public LingeringBudget budget() {
    return budget;
  }

  /** Where the guard records. */
  public GuardMetrics metrics() {
    return metrics;
  }
}
