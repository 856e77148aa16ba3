package dev.abortguard.internal.metrics;

import dev.abortguard.internal.core.ReleaseCause;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** {@link GuardMetrics} on a Micrometer registry. Tag keys follow micrometer-core's gRPC binder. */
final class MicrometerGuardMetrics implements GuardMetrics {
  static final String ABORTS = "grpc.server.aborts";
  static final String ABORTS_MITIGATED = "grpc.server.aborts.mitigated";
  static final String STREAMS_LINGERING = "grpc.server.streams.lingering";
  static final String STREAMS_RELEASED = "grpc.server.streams.released";
  static final String LINGER_DURATION = "grpc.server.streams.linger.duration";
  static final String MISCONFIGURED = "abortguard.misconfigured";
  private static final String MITIGATED_DESCRIPTION = "Aborts whose wire form the guard changed";

  /**
   * One lingering count per registry: a registry keeps the first gauge registered under a name,
   * so guards sharing a registry must share the number behind it.
   */
  private static final Map<MeterRegistry, AtomicLong> lingeringByRegistry = new WeakHashMap<>();
  private static final int CODES = Status.Code.values().length;

  private final MeterRegistry registry;
  private final AtomicLong lingering;
  private final Counter[] released = new Counter[ReleaseCause.values().length];
  private final Timer lingerDuration;
  private final Counter[] misconfigured = new Counter[Problem.values().length];
  /** Keyed by descriptor identity: a server has a fixed set of them. */
  private final Map<MethodDescriptor<?, ?>, MethodMeters> byMethod = new ConcurrentHashMap<>();

  MicrometerGuardMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.lingering = lingeringGauge(registry);
    for (ReleaseCause cause : ReleaseCause.values()) {
      released[cause.ordinal()] = Counter.builder(STREAMS_RELEASED)
          .description("Streams the server had ended while the peer had not, no longer lingering")
          .tag("cause", cause.tagValue())
          .register(registry);
    }
    this.lingerDuration = Timer.builder(LINGER_DURATION)
        .description("How long streams lingered after the server ended them")
        .register(registry);
    for (Problem problem : Problem.values()) {
      misconfigured[problem.ordinal()] = Counter.builder(MISCONFIGURED)
          .description("Wiring mistakes abortguard found at run time; the log says how to fix each")
          .tag("problem", problem.tagValue)
          .register(registry);
    }
    // Every mitigation reads 0 from the start, as every release cause does, also under the
    // policies that never withhold a reset. Prometheus wants one set of tag keys per name, so
    // these carry the call's keys, empty: tied to no method.
    for (Mitigation mitigation : Mitigation.values()) {
      Counter.builder(ABORTS_MITIGATED)
          .description(MITIGATED_DESCRIPTION)
          .tag("service", "")
          .tag("method", "")
          .tag("statusCode", "")
          .tag("mitigation", mitigation.tagValue)
          .register(registry);
    }
  }

  private static AtomicLong lingeringGauge(MeterRegistry registry) {
    synchronized (lingeringByRegistry) {
      return lingeringByRegistry.computeIfAbsent(registry, r -> {
        AtomicLong count = new AtomicLong();
        Gauge.builder(STREAMS_LINGERING, count, AtomicLong::get)
            .description("Streams the server has ended while the peer has not")
            .strongReference(true)
            .register(r);
        return count;
      });
    }
  }

  @Override
  public void onAbort(MethodDescriptor<?, ?> method, Status.Code code, Peer peer, Response response) {
    metersOf(method).abort(code, peer, response).increment();
  }

  @Override
  public void onMitigated(MethodDescriptor<?, ?> method, Status.Code code, Mitigation mitigation) {
    metersOf(method).mitigated(code, mitigation).increment();
  }

  @Override
  public void onLingering() {
    lingering.incrementAndGet();
  }

  @Override
  public void onReleased(ReleaseCause cause, long lingeredNanos) {
    lingering.decrementAndGet();
    released[cause.ordinal()].increment();
    lingerDuration.record(lingeredNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void onMisconfigured(Problem problem) {
    misconfigured[problem.ordinal()].increment();
  }

  private MethodMeters metersOf(MethodDescriptor<?, ?> method) {
    MethodMeters meters = byMethod.get(method);
    return meters != null ? meters : byMethod.computeIfAbsent(method, MethodMeters::new);
  }

  /**
   * One method's abort counters, registered on first use and kept: building and registering a
   * counter per abort would cost more than the abort itself.
   */
  private final class MethodMeters {
    private final MethodDescriptor<?, ?> method;
    // Filled lazily; a race registers the same counter twice, which Micrometer answers with the
    // one it has.
    private final Counter[] aborts = new Counter[CODES * Peer.values().length * Response.values().length];
    private final Counter[] mitigated = new Counter[CODES * Mitigation.values().length];

    MethodMeters(MethodDescriptor<?, ?> method) {
      this.method = method;
    }

    Counter abort(Status.Code code, Peer peer, Response response) {
      int i = (code.ordinal() * Peer.values().length + peer.ordinal()) * Response.values().length + response.ordinal();
      Counter counter = aborts[i];
      if (counter == null) {
        counter = Counter.builder(ABORTS)
            .description("Calls closed with a non-OK status before their first response message")
            .tag("service", serviceName(method))
            .tag("method", bareMethodName(method))
            .tag("methodType", method.getType().name())
            .tag("statusCode", code.name())
            .tag("peer", peer.tagValue)
            .tag("response", response.tagValue)
            .register(registry);
        aborts[i] = counter;
      }
      return counter;
    }

    Counter mitigated(Status.Code code, Mitigation mitigation) {
      int i = code.ordinal() * Mitigation.values().length + mitigation.ordinal();
      Counter counter = mitigated[i];
      if (counter == null) {
        counter = Counter.builder(ABORTS_MITIGATED)
            .description(MITIGATED_DESCRIPTION)
            .tag("service", serviceName(method))
            .tag("method", bareMethodName(method))
            .tag("statusCode", code.name())
            .tag("mitigation", mitigation.tagValue)
            .register(registry);
        mitigated[i] = counter;
      }
      return counter;
    }
  }

  private static String serviceName(MethodDescriptor<?, ?> method) {
    String service = method.getServiceName();
    return service == null ? "" : service;
  }

  private static String bareMethodName(MethodDescriptor<?, ?> method) {
    String bare = method.getBareMethodName();
    return bare == null ? method.getFullMethodName() : bare;
  }
}
