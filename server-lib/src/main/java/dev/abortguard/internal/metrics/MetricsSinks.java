package dev.abortguard.internal.metrics;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.internal.core.ReleaseCause;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.opentelemetry.api.OpenTelemetry;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/** How {@link GuardMetrics#of} combines the sinks a guard was given. */
final class MetricsSinks {
  private static final Logger logger = Logger.getLogger("dev.abortguard");
  /** Whether the guard has said it records no meters; package-private for its test. */
  static final AtomicBoolean saidNone = new AtomicBoolean();

  private MetricsSinks() {}

  /** Kept apart from {@link GuardMetrics} so that only a guard given OpenTelemetry links to it. */
  static GuardMetrics openTelemetry(Object openTelemetry, AbortGuardConfig config) {
    return new OpenTelemetryGuardMetrics((OpenTelemetry) openTelemetry, config);
  }

  static GuardMetrics both(GuardMetrics first, GuardMetrics second) {
    if (first == GuardMetrics.NONE && second == GuardMetrics.NONE) {
      if (saidNone.compareAndSet(false, true)) {
        logger.info("abortguard: no MeterRegistry and no OpenTelemetry given to AbortGuard.builder(): the guard"
            + " works, and records no meters (said once)");
      }
      return GuardMetrics.NONE;
    }
    if (second == GuardMetrics.NONE) {
      return first;
    }
    if (first == GuardMetrics.NONE) {
      return second;
    }
    return new Both(first, second);
  }

  /** Records into two sinks: an application that has Micrometer and OpenTelemetry side by side. */
  private static final class Both implements GuardMetrics {
    private final GuardMetrics first;
    private final GuardMetrics second;

    Both(GuardMetrics first, GuardMetrics second) {
      this.first = first;
      this.second = second;
    }

    @Override
    public void onAbort(MethodDescriptor<?, ?> method, Status.Code code, Peer peer, Response response) {
      first.onAbort(method, code, peer, response);
      second.onAbort(method, code, peer, response);
    }

    @Override
    public void onMitigated(MethodDescriptor<?, ?> method, Status.Code code, Mitigation mitigation) {
      first.onMitigated(method, code, mitigation);
      second.onMitigated(method, code, mitigation);
    }

    @Override
    public void onLingering() {
      first.onLingering();
      second.onLingering();
    }

    @Override
    public void onReleased(ReleaseCause cause, long lingeredNanos) {
      first.onReleased(cause, lingeredNanos);
      second.onReleased(cause, lingeredNanos);
    }

    @Override
    public void onMisconfigured(Problem problem) {
      first.onMisconfigured(problem);
      second.onMisconfigured(problem);
    }
  }
}
