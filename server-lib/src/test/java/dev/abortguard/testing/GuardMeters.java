package dev.abortguard.testing;

import dev.abortguard.internal.core.ReleaseCause;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/** Reads the guard's meters from a test server's registry; absent meters read 0. */
public interface GuardMeters {
  /** The registry the server's guard records into. */
  MeterRegistry registry();

  /** {@code grpc.server.streams.released} for one cause. */
  default double released(ReleaseCause cause) {
    Counter counter = registry().find("grpc.server.streams.released").tag("cause", cause.tagValue()).counter();
    return counter == null ? 0 : counter.count();
  }

  /**
   * {@code grpc.server.streams.released} for one cause, once it reads {@code expected} or 5 s
   * have passed: the guard counts a release that resets a stream when the reset's write
   * completes, which may be just after the peer read it.
   */
  default double released(ReleaseCause cause, double expected) {
    return settle(() -> released(cause), expected);
  }

  /** {@code grpc.server.aborts} over the given tags, once it reads {@code expected} or 5 s have passed. */
  default double abortsReaching(double expected, String... tags) {
    return settle(() -> aborts(tags), expected);
  }

  /** {@code grpc.server.aborts.mitigated} over the given tags, once it reads {@code expected} or 5 s have passed. */
  default double mitigatedReaching(double expected, String... tags) {
    return settle(() -> mitigated(tags), expected);
  }

  /** {@code meter}'s value once it reads {@code expected}, or after 5 s. */
  static double settle(java.util.function.DoubleSupplier meter, double expected) {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
    double value;
    while ((value = meter.getAsDouble()) != expected && System.nanoTime() - deadline < 0) {
      java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(2));
    }
    return value;
  }

  /** {@code grpc.server.streams.released}, all causes. */
  default double releasedTotal() {
    return registry().find("grpc.server.streams.released").counters().stream().mapToDouble(Counter::count).sum();
  }

  /** {@code grpc.server.streams.lingering}. */
  default double lingering() {
    Gauge gauge = registry().find("grpc.server.streams.lingering").gauge();
    return gauge == null ? 0 : gauge.value();
  }

  /** {@code grpc.server.aborts}, summed over the tags given as key, value pairs. */
  default double aborts(String... tags) {
    return registry().find("grpc.server.aborts").tags(tags).counters().stream().mapToDouble(Counter::count).sum();
  }

  /** {@code grpc.server.aborts.mitigated}, summed over the tags given as key, value pairs. */
  default double mitigated(String... tags) {
    return registry().find("grpc.server.aborts.mitigated").tags(tags).counters().stream()
        .mapToDouble(Counter::count).sum();
  }
}
