package dev.abortguard.internal.metrics;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.internal.Internal;
import dev.abortguard.internal.core.ReleaseCause;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * What the guard records: aborts and their mitigations from the call layer, lingering streams
 * from the HTTP/2 adapters, wiring mistakes found at run time. {@link #NONE} records nothing;
 * {@link #micrometer} binds to Micrometer. Called from event loops and call executors: must not
 * block.
 */
@Internal
public interface GuardMetrics {
  /** Records nothing. */
  GuardMetrics NONE = new GuardMetrics() {
    @Override
    public void onAbort(MethodDescriptor<?, ?> method, Status.Code code, Peer peer, Response response) {}

    @Override
    public void onMitigated(MethodDescriptor<?, ?> method, Status.Code code, Mitigation mitigation) {}

    @Override
    public void onLingering() {}

    @Override
    public void onReleased(ReleaseCause cause, long lingeredNanos) {}

    @Override
    public void onMisconfigured(Problem problem) {}
  };

  /**
   * Records into {@code registry} under the names in docs/metrics.md, {@code config}'s limits and
   * policy included (the alerts in ops/ compare against them).
   */
  static GuardMetrics micrometer(MeterRegistry registry, AbortGuardConfig config) {
    return new MicrometerGuardMetrics(registry, config);
  }

  /**
   * What a guard records into: {@code registry} (Micrometer), {@code openTelemetry} (an {@code
   * io.opentelemetry.api.OpenTelemetry}, typed {@code Object} so that this class loads without
   * opentelemetry-api), both, or, with neither, {@link #NONE}, said once in the log. Each records
   * {@code config}'s limits and policy too.
   */
  static GuardMetrics of(MeterRegistry registry, Object openTelemetry, AbortGuardConfig config) {
    GuardMetrics micrometer = registry == null ? NONE : micrometer(registry, config);
    GuardMetrics otel = openTelemetry == null ? NONE : MetricsSinks.openTelemetry(openTelemetry, config);
    return MetricsSinks.both(micrometer, otel);
  }

  /** A call was closed with a non-OK status before its first response message. */
  void onAbort(MethodDescriptor<?, ?> method, Status.Code code, Peer peer, Response response);

  /** The guard changed what an abort looks like on the wire. */
  void onMitigated(MethodDescriptor<?, ?> method, Status.Code code, Mitigation mitigation);

  /** A stream was ended by the server while the peer still had it open. */
  void onLingering();

  /** A stream that was lingering for {@code lingeredNanos} no longer is. */
  void onReleased(ReleaseCause cause, long lingeredNanos);

  /** A wiring mistake showed at run time (logged once per server as well). */
  void onMisconfigured(Problem problem);

  /** The {@code problem} tag of {@code abortguard.misconfigured}. */
  enum Problem {
    /** The call layer is installed on a Netty server whose connections do not carry the HTTP/2 adapter. */
    TRANSPORT_NOT_GUARDED("transport_not_guarded"),
    /** The HTTP/2 adapter is on a server whose builder lacks the call layer ({@code install}). */
    CALL_LAYER_MISSING("call_layer_missing"),
    /** An abort went out after response headers that were sent outside the guard's interceptor. */
    HEADERS_OUTSIDE_INTERCEPTOR("headers_outside_interceptor");

    final String tagValue;

    Problem(String tagValue) {
      this.tagValue = tagValue;
    }
  }

  /** The {@code peer} tag: whether the client was still sending when the server aborted. */
  enum Peer {
    STREAMING("streaming"),
    HALF_CLOSED("half_closed");

    final String tagValue;

    Peer(String tagValue) {
      this.tagValue = tagValue;
    }
  }

  /** The {@code response} tag: what the abort looked like on the wire. */
  enum Response {
    TRAILERS_ONLY("trailers_only"),
    HEADERS_THEN_TRAILERS("headers_then_trailers");

    final String tagValue;

    Response(String tagValue) {
      this.tagValue = tagValue;
    }
  }

  /** The {@code mitigation} tag. */
  enum Mitigation {
    /** Headers the application sent early were held back and merged into the trailers. */
    TRAILERS_ONLY("trailers_only"),
    /** The client was still sending; the reset a C-core server sends here was withheld. */
    RESET_WITHHELD("reset_withheld");

    final String tagValue;

    Mitigation(String tagValue) {
      this.tagValue = tagValue;
    }
  }
}
