package dev.abortguard.internal.metrics;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.internal.core.ReleaseCause;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
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
  static final String INFO = "abortguard.info";
  static final String CONFIG_LINGERING_MAX = "abortguard.config.lingering.max";
  // Not ".max.total": Prometheus strips a "_total" suffix, and the name would collide with the one above.
  static final String CONFIG_LINGERING_MAX_SERVER = "abortguard.config.lingering.max.server";
  static final String CONFIG_RESET_GRACE = "abortguard.config.reset.grace";
  private static final String MITIGATED_DESCRIPTION = "Aborts whose wire form the guard changed";

  /**
   * One lingering count and one set of limits per registry: a registry keeps the first gauge
   * registered under a name, so guards sharing a registry must share the numbers behind it.
   */
  private static final Map<MeterRegistry, SharedGauges> gaugesByRegistry = new WeakHashMap<>();
  private static final int CODES = Status.Code.values().length;

  private final MeterRegistry registry;
  private final AtomicLong lingering;
  private final Counter[] released = new Counter[ReleaseCause.values().length];
  private final Timer lingerDuration;
  private final Counter[] misconfigured = new Counter[Problem.values().length];
  /** Keyed by descriptor identity: a server has a fixed set of them. */
  private final Map<MethodDescriptor<?, ?>, MethodMeters> byMethod = new ConcurrentHashMap<>();

  MicrometerGuardMetrics(MeterRegistry registry, AbortGuardConfig config) {
    this.registry = registry;
    SharedGauges shared = sharedGauges(registry);
    shared.add(registry, config);
    this.lingering = shared.lingering;
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

  private static SharedGauges sharedGauges(MeterRegistry registry) {
    synchronized (gaugesByRegistry) {
      return gaugesByRegistry.computeIfAbsent(registry, SharedGauges::new);
    }
  }

  /**
   * The gauges every guard on one registry feeds: the streams lingering now (the sum over the
   * guards) and the limits that count is held to. With several guards the limits read the largest
   * per-connection bound and grace, and the sum of the server-wide bounds (each guard has its own
   * budget), so that {@code lingering / max.server} stays the share of what the guards allow.
   */
  private static final class SharedGauges {
    final AtomicLong lingering = new AtomicLong();
    private final AtomicLong lingeringMax = new AtomicLong();
    private final AtomicLong lingeringMaxServer = new AtomicLong();
    private final AtomicLong graceNanos = new AtomicLong();
    private final Set<String> policies = new HashSet<>();

    SharedGauges(MeterRegistry registry) {
      Gauge.builder(STREAMS_LINGERING, lingering, AtomicLong::get)
          .description("Streams the server has ended while the peer has not")
          .strongReference(true)
          .register(registry);
      Gauge.builder(CONFIG_LINGERING_MAX, lingeringMax, AtomicLong::get)
          .description("abortguard.lingering.max: lingering streams per connection before the eldest is reset")
          .strongReference(true)
          .register(registry);
      Gauge.builder(CONFIG_LINGERING_MAX_SERVER, lingeringMaxServer, AtomicLong::get)
          .description("abortguard.lingering.maxTotal: lingering streams across the guard's connections")
          .strongReference(true)
          .register(registry);
      Gauge.builder(CONFIG_RESET_GRACE, graceNanos, nanos -> nanos.get() / 1e9)
          .description("abortguard.reset.grace: how long deferred waits for the peer before resetting")
          .baseUnit("seconds")
          .strongReference(true)
          .register(registry);
    }

    /** Counts {@code config} in: its limits, and its policy as one {@code abortguard.info} series. */
    synchronized void add(MeterRegistry registry, AbortGuardConfig config) {
      lingeringMax.accumulateAndGet(config.lingeringMax(), Math::max);
      lingeringMaxServer.addAndGet(config.lingeringMaxTotal());
      graceNanos.accumulateAndGet(config.resetGrace().toNanos(), Math::max);
      String reset = config.reset().value();
      String trailersOnly = Boolean.toString(config.trailersOnly());
      // Registered once per policy: Micrometer warns about a second registration of the same gauge.
      if (policies.add(reset + " " + trailersOnly)) {
        Gauge.builder(INFO, () -> 1)
            .description("1 for each policy a guard recording here applies; absent when no guard records here")
            .tag("reset", reset)
            .tag("trailersOnly", trailersOnly)
            .register(registry);
      }
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
            .tag("service", MethodNames.service(method))
            .tag("method", MethodNames.method(method))
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
            .tag("service", MethodNames.service(method))
            .tag("method", MethodNames.method(method))
            .tag("statusCode", code.name())
            .tag("mitigation", mitigation.tagValue)
            .register(registry);
        mitigated[i] = counter;
      }
      return counter;
    }
  }
}
