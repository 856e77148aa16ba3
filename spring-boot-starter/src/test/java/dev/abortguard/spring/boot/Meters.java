package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.testing.Await;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;

/** Counter checks that allow for the guard recording a call a moment after its last frame left. */
public final class Meters {
  private Meters() {}

  /** Waits until the counters of {@code name} with {@code tags} ("k", "v", ...) sum to {@code expected}. */
  public static void awaitCount(MeterRegistry registry, double expected, String name, String... tags) {
    try {
      Await.until(name + " " + String.join(",", tags) + " == " + expected,
          () -> count(registry, name, tags) >= expected, Duration.ofSeconds(5));
    } finally {
      assertEquals(expected, count(registry, name, tags), name + " " + String.join(",", tags));
    }
  }

  public static double count(MeterRegistry registry, String name, String... tags) {
    return registry.find(name).tags(tags).counters().stream().mapToDouble(Counter::count).sum();
  }
}
