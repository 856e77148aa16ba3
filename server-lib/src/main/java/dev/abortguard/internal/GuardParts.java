package dev.abortguard.internal;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.internal.core.LingeringBudget;
import dev.abortguard.internal.metrics.GuardMetrics;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;

/**
 * What a guard shares with the HTTP/2 adapters it serves: its settings, its bound on lingering
 * streams across connections and its meters. One per guard: the guard makes it and {@linkplain
 * #register registers} it; its own grpc-java adapter holds it, and abortguard's adapters in other
 * artifacts (Armeria, grpc-okhttp) look it up with {@link #of}. Nothing here refers back to the
 * guard's class, so the API depends on this package and never the other way round.
 */
@Internal
public final class GuardParts {
  /** Each live guard's parts, by identity (guards do not override equals); a dropped guard goes. */
  private static final Map<Object, GuardParts> REGISTERED = Collections.synchronizedMap(new WeakHashMap<>());

  private final AbortGuardConfig config;
  private final LingeringBudget budget;
  private final GuardMetrics metrics;

  /** The parts of one guard; made by the guard itself. */
  public GuardParts(AbortGuardConfig config, LingeringBudget budget, GuardMetrics metrics) {
    this.config = Objects.requireNonNull(config, "config");
    this.budget = Objects.requireNonNull(budget, "budget");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  /** Called once per guard, by the guard as it is built: {@code guard}'s parts are {@code parts}. */
  public static void register(Object guard, GuardParts parts) {
    if (REGISTERED.putIfAbsent(Objects.requireNonNull(guard, "guard"), parts) != null) {
      throw new IllegalStateException("a guard registers its parts once");
    }
  }

  /**
   * {@code guard}'s parts.
   *
   * @throws IllegalArgumentException if {@code guard} registered none (not an {@code AbortGuard})
   */
  public static GuardParts of(Object guard) {
    GuardParts parts = REGISTERED.get(Objects.requireNonNull(guard, "guard"));
    if (parts == null) {
      throw new IllegalArgumentException("not an AbortGuard: " + guard.getClass().getName());
    }
    return parts;
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
