package dev.abortguard.metrics;

import dev.abortguard.core.LingeringStreamListener;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * What the guard records: aborts and their mitigations from the interceptor, lingering streams
 * from the HTTP/2 adapters. {@link #NONE} records nothing; {@link #micrometer} binds to Micrometer.
 */
public interface GuardMetrics extends LingeringStreamListener {
  /** Records nothing. */
  GuardMetrics NONE = new GuardMetrics() {
    @Override
    public void onAbort(MethodDescriptor<?, ?> method, Status.Code code, Peer peer, Response response) {}

    @Override
    public void onMitigated(MethodDescriptor<?, ?> method, Status.Code code, Mitigation mitigation) {}

    @Override
    public void onLingering() {}

    @Override
    public void onReleased(dev.abortguard.core.ReleaseCause cause, long lingeredNanos) {}
  };

  /** Records into {@code registry} under the names in the README's metrics table. */
  static GuardMetrics micrometer(MeterRegistry registry) {
    return new MicrometerGuardMetrics(registry);
  }

  /** A call was closed with a non-OK status before its first response message. */
  void onAbort(MethodDescriptor<?, ?> method, Status.Code code, Peer peer, Response response);

  /** The guard changed what an abort looks like on the wire. */
  void onMitigated(MethodDescriptor<?, ?> method, Status.Code code, Mitigation mitigation);

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
