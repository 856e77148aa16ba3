package dev.abortguard.grpc;

import dev.abortguard.metrics.GuardMetrics;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.function.BooleanSupplier;

/**
 * Makes an abort before the first response message trailers-only, even when the application sent
 * headers eagerly, and counts aborts and their mitigations. Add it last so it is the outermost
 * interceptor and sees the aborts of the others.
 */
public final class AbortInterceptor implements ServerInterceptor {
  private final boolean holdHeaders;
  private final BooleanSupplier resetWithheld;
  private final GuardMetrics metrics;

  /**
   * @param holdHeaders hold {@code sendHeaders} back until the first message or {@code close}
   * @param resetWithheld whether the transport withholds the reset a C-core server would send
   *     after an abort while the client still streams (the {@code deferred} policy is installed)
   */
  public AbortInterceptor(boolean holdHeaders, BooleanSupplier resetWithheld, GuardMetrics metrics) {
    this.holdHeaders = holdHeaders;
    this.resetWithheld = resetWithheld;
    this.metrics = metrics;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    AbortRecordingCall<ReqT, RespT> recording =
        new AbortRecordingCall<>(call, holdHeaders, resetWithheld, metrics);
    ServerCall.Listener<ReqT> listener = next.startCall(recording, headers);
    return new SimpleForwardingServerCallListener<ReqT>(listener) {
      @Override
      public void onHalfClose() {
        recording.peerHalfClosed();
        super.onHalfClose();
      }
    };
  }
}
