package dev.abortguard.internal.vertx;

import dev.abortguard.internal.metrics.GuardMetrics;
import io.grpc.MethodDescriptor;
import io.grpc.Status;

/**
 * One gRPC call's abort, as far as the meters need it: the call layer says how the call ended, the
 * HTTP/2 adapter whether its reset was withheld. The two arrive in either order (a response ended
 * off the event loop is written after its end handler ran), so whichever comes second counts the
 * {@code reset_withheld} mitigation.
 */
final class CallRecord {
  private final GuardMetrics metrics;
  private final MethodDescriptor<?, ?> method;

  private Status.Code abortCode;
  private boolean ended;
  private Boolean resetWithheld;

  CallRecord(GuardMetrics metrics, MethodDescriptor<?, ?> method) {
    this.metrics = metrics;
    this.method = method;
  }

  MethodDescriptor<?, ?> method() {
    return method;
  }

  /** The response ended; {@code abortCode} is its status if it was an abort, else {@code null}. */
  synchronized void ended(Status.Code abortCode) {
    this.ended = true;
    this.abortCode = abortCode;
    maybeMitigated();
  }

  /** The server ended the stream while the peer had not; {@code withheld} as the driver decided. */
  synchronized void earlyClosed(boolean withheld) {
    this.resetWithheld = withheld;
    maybeMitigated();
  }

  private void maybeMitigated() {
    if (ended && abortCode != null && Boolean.TRUE.equals(resetWithheld)) {
      resetWithheld = Boolean.FALSE; // once
      metrics.onMitigated(method, abortCode, GuardMetrics.Mitigation.RESET_WITHHELD);
    }
  }
}
