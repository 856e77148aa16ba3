package dev.abortguard.internal.metrics;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.internal.core.ReleaseCause;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.LongUpDownCounter;
import io.opentelemetry.api.metrics.Meter;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@link GuardMetrics} on OpenTelemetry's metrics API: the instruments of docs/metrics.md under
 * the same names, with OpenTelemetry's units ({@code {call}}, {@code {stream}}, {@code s}) and its
 * RPC attributes ({@code rpc.system}, {@code rpc.service}, {@code rpc.method}, {@code
 * rpc.grpc.status_code}); the guard's own attributes are namespaced {@code abortguard.*}. Only
 * loaded when the application hands the guard an {@code OpenTelemetry}: opentelemetry-api is an
 * optional dependency.
 */
final class OpenTelemetryGuardMetrics implements GuardMetrics {
  static final String SCOPE = "dev.abortguard";
  static final AttributeKey<String> RPC_SYSTEM = AttributeKey.stringKey("rpc.system");
  static final AttributeKey<String> RPC_SERVICE = AttributeKey.stringKey("rpc.service");
  static final AttributeKey<String> RPC_METHOD = AttributeKey.stringKey("rpc.method");
  static final AttributeKey<Long> RPC_GRPC_STATUS_CODE = AttributeKey.longKey("rpc.grpc.status_code");
  static final AttributeKey<String> METHOD_TYPE = AttributeKey.stringKey("abortguard.method_type");
  static final AttributeKey<String> PEER = AttributeKey.stringKey("abortguard.peer");
  static final AttributeKey<String> RESPONSE = AttributeKey.stringKey("abortguard.response");
  static final AttributeKey<String> MITIGATION = AttributeKey.stringKey("abortguard.mitigation");
  static final AttributeKey<String> CAUSE = AttributeKey.stringKey("abortguard.cause");
  static final AttributeKey<String> PROBLEM = AttributeKey.stringKey("abortguard.problem");
  static final AttributeKey<String> RESET = AttributeKey.stringKey("abortguard.reset");
  static final AttributeKey<String> TRAILERS_ONLY = AttributeKey.stringKey("abortguard.trailers_only");
  private static final double NANOS_PER_SECOND = 1e9;

  private final LongCounter aborts;
  private final LongCounter mitigated;
  private final LongUpDownCounter lingering;
  private final LongCounter released;
  private final DoubleHistogram lingerDuration;
  private final LongCounter misconfigured;
  private final Attributes[] causes = new Attributes[ReleaseCause.values().length];
  private final Attributes[] problems = new Attributes[Problem.values().length];
  /** Keyed by descriptor identity, as the Micrometer side: a server has a fixed set of them. */
  private final Map<MethodDescriptor<?, ?>, MethodAttributes> byMethod = new ConcurrentHashMap<>();

  OpenTelemetryGuardMetrics(OpenTelemetry openTelemetry, AbortGuardConfig config) {
    Meter meter = openTelemetry.getMeter(SCOPE);
    limits(meter, config);
    aborts = meter.counterBuilder("grpc.server.aborts")
        .setDescription("Calls closed with a non-OK status before their first response message")
        .setUnit("{call}").build();
    mitigated = meter.counterBuilder("grpc.server.aborts.mitigated")
        .setDescription("Aborts whose wire form the guard changed")
        .setUnit("{call}").build();
    lingering = meter.upDownCounterBuilder("grpc.server.streams.lingering")
        .setDescription("Streams the server has ended while the peer has not")
        .setUnit("{stream}").build();
    released = meter.counterBuilder("grpc.server.streams.released")
        .setDescription("Streams the server had ended while the peer had not, no longer lingering")
        .setUnit("{stream}").build();
    lingerDuration = meter.histogramBuilder("grpc.server.streams.linger.duration")
        .setDescription("How long streams lingered after the server ended them")
        .setUnit("s").build();
    misconfigured = meter.counterBuilder("abortguard.misconfigured")
        .setDescription("Wiring mistakes abortguard found at run time; the log says how to fix each")
        .setUnit("{problem}").build();
    // As on Micrometer, every series not tied to a call is there from the start, reading 0.
    lingering.add(0);
    for (ReleaseCause cause : ReleaseCause.values()) {
      causes[cause.ordinal()] = Attributes.of(CAUSE, cause.tagValue());
      released.add(0, causes[cause.ordinal()]);
    }
    for (Problem problem : Problem.values()) {
      problems[problem.ordinal()] = Attributes.of(PROBLEM, problem.tagValue);
      misconfigured.add(0, problems[problem.ordinal()]);
    }
    for (Mitigation mitigation : Mitigation.values()) {
      mitigated.add(0, Attributes.of(MITIGATION, mitigation.tagValue));
    }
  }

  /**
   * The limits the alerts in ops/ compare against, and the policy, as on Micrometer (there shared
   * by the guards of one registry; here each guard reports its own, told apart by its policy).
   */
  private static void limits(Meter meter, AbortGuardConfig config) {
    Attributes policy = Attributes.of(RESET, config.reset().value(), TRAILERS_ONLY, Boolean.toString(config.trailersOnly()));
    meter.gaugeBuilder("abortguard.info").ofLongs()
        .setDescription("1 for each policy a guard recording here applies")
        .buildWithCallback(gauge -> gauge.record(1, policy));
    meter.gaugeBuilder("abortguard.config.lingering.max").ofLongs().setUnit("{stream}")
        .setDescription("abortguard.lingering.max: lingering streams per connection before the eldest is reset")
        .buildWithCallback(gauge -> gauge.record(config.lingeringMax(), policy));
    meter.gaugeBuilder("abortguard.config.lingering.max.server").ofLongs().setUnit("{stream}")
        .setDescription("abortguard.lingering.maxTotal: lingering streams across the guard's connections")
        .buildWithCallback(gauge -> gauge.record(config.lingeringMaxTotal(), policy));
    meter.gaugeBuilder("abortguard.config.reset.grace").setUnit("s")
        .setDescription("abortguard.reset.grace: how long deferred waits for the peer before resetting")
        .buildWithCallback(gauge -> gauge.record(config.resetGrace().toNanos() / NANOS_PER_SECOND, policy));
  }

  @Override
  public void onAbort(MethodDescriptor<?, ?> method, Status.Code code, Peer peer, Response response) {
    aborts.add(1, attributesOf(method).abort(code, peer, response));
  }

  @Override
  public void onMitigated(MethodDescriptor<?, ?> method, Status.Code code, Mitigation mitigation) {
    mitigated.add(1, attributesOf(method).mitigated(code, mitigation));
  }

  @Override
  public void onLingering() {
    lingering.add(1);
  }

  @Override
  public void onReleased(ReleaseCause cause, long lingeredNanos) {
    lingering.add(-1);
    released.add(1, causes[cause.ordinal()]);
    lingerDuration.record(lingeredNanos / NANOS_PER_SECOND);
  }

  @Override
  public void onMisconfigured(Problem problem) {
    misconfigured.add(1, problems[problem.ordinal()]);
  }

  private MethodAttributes attributesOf(MethodDescriptor<?, ?> method) {
    MethodAttributes attributes = byMethod.get(method);
    return attributes != null ? attributes : byMethod.computeIfAbsent(method, MethodAttributes::new);
  }

  /** One method's attribute sets, built on first use and kept, so that an abort allocates none. */
  private static final class MethodAttributes {
    private static final int CODES = Status.Code.values().length;
    private final MethodDescriptor<?, ?> method;
    // Filled lazily; a race builds an equal set twice, which is harmless.
    private final Attributes[] aborts = new Attributes[CODES * Peer.values().length * Response.values().length];
    private final Attributes[] mitigated = new Attributes[CODES * Mitigation.values().length];

    MethodAttributes(MethodDescriptor<?, ?> method) {
      this.method = method;
    }

    Attributes abort(Status.Code code, Peer peer, Response response) {
      int i = (code.ordinal() * Peer.values().length + peer.ordinal()) * Response.values().length + response.ordinal();
      Attributes attributes = aborts[i];
      if (attributes == null) {
        attributes = call(code).toBuilder()
            .put(METHOD_TYPE, method.getType().name())
            .put(PEER, peer.tagValue)
            .put(RESPONSE, response.tagValue)
            .build();
        aborts[i] = attributes;
      }
      return attributes;
    }

    Attributes mitigated(Status.Code code, Mitigation mitigation) {
      int i = code.ordinal() * Mitigation.values().length + mitigation.ordinal();
      Attributes attributes = mitigated[i];
      if (attributes == null) {
        attributes = call(code).toBuilder().put(MITIGATION, mitigation.tagValue).build();
        mitigated[i] = attributes;
      }
      return attributes;
    }

    private Attributes call(Status.Code code) {
      return Attributes.builder()
          .put(RPC_SYSTEM, "grpc")
          .put(RPC_SERVICE, MethodNames.service(method))
          .put(RPC_METHOD, MethodNames.method(method))
          .put(RPC_GRPC_STATUS_CODE, (long) code.value())
          .build();
    }
  }
}
