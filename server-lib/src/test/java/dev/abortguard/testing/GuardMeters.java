package dev.abortguard.testing;

import dev.abortguard.core.ReleaseCause;
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
