package dev.abortguard.grpc;

import dev.abortguard.metrics.GuardMetrics;
import dev.abortguard.metrics.GuardMetrics.Mitigation;
import dev.abortguard.metrics.GuardMetrics.Peer;
import dev.abortguard.metrics.GuardMetrics.Response;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.function.BooleanSupplier;

/**
 * A call that holds eagerly sent headers back until the first message, merges them into the
 * trailers of a close that comes first (so grpc-java answers trailers-only), and records aborts.
 */
final class AbortRecordingCall<ReqT, RespT> extends SimpleForwardingServerCall<ReqT, RespT> {
  private final boolean holdHeaders;
  private final BooleanSupplier resetWithheld;
  private final GuardMetrics metrics;

  // ServerCall methods are called serially by the application; onHalfClose comes from the
  // call's executor, possibly another thread, hence volatile.
  private volatile boolean peerHalfClosed;
  private Metadata heldHeaders;
  private boolean headersSent;
  private boolean messageSent;

  AbortRecordingCall(
      ServerCall<ReqT, RespT> delegate,
      boolean holdHeaders,
      BooleanSupplier resetWithheld,
      GuardMetrics metrics) {
    super(delegate);
    this.holdHeaders = holdHeaders;
    this.resetWithheld = resetWithheld;
    this.metrics = metrics;
  }

  void peerHalfClosed() {
    peerHalfClosed = true;
  }

  @Override
  public void sendHeaders(Metadata headers) {
    if (holdHeaders && !messageSent) {
      heldHeaders = headers;
      return;
    }
    headersSent = true;
    super.sendHeaders(headers);
  }

  @Override
  public void sendMessage(RespT message) {
    if (heldHeaders != null) {
      Metadata headers = heldHeaders;
      heldHeaders = null;
      headersSent = true;
      super.sendHeaders(headers);
    }
    messageSent = true;
    super.sendMessage(message);
  }

  @Override
  public void close(Status status, Metadata trailers) {
    boolean heldBack = heldHeaders != null;
    if (heldBack) {
      // Closing before any headers makes grpc-java send one HEADERS frame: trailers-only.
      trailers.merge(heldHeaders);
      heldHeaders = null;
    }
    if (!status.isOk() && !messageSent) {
      recordAbort(status.getCode(), heldBack);
    }
    super.close(status, trailers);
  }

  private void recordAbort(Status.Code code, boolean heldBack) {
    // A unary or server-streaming client sends END_STREAM with its one message; the call may
    // just not have been told yet. Only a client-streaming peer can still be sending.
    boolean streaming = !peerHalfClosed && !getMethodDescriptor().getType().clientSendsOneMessage();
    metrics.onAbort(
        getMethodDescriptor(),
        code,
        streaming ? Peer.STREAMING : Peer.HALF_CLOSED,
        headersSent ? Response.HEADERS_THEN_TRAILERS : Response.TRAILERS_ONLY);
    if (heldBack) {
      metrics.onMitigated(getMethodDescriptor(), code, Mitigation.TRAILERS_ONLY);
    }
    if (streaming && resetWithheld.getAsBoolean()) {
      metrics.onMitigated(getMethodDescriptor(), code, Mitigation.RESET_WITHHELD);
    }
  }
}
