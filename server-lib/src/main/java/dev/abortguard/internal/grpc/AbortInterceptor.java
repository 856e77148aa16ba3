package dev.abortguard.internal.grpc;

import dev.abortguard.internal.Internal;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Makes an abort before the first response message trailers-only, even when the application sent
 * headers eagerly, and tells the call's {@link CallRecord} what it saw. Only the outermost of the
 * guard's interceptors on a call acts; the others pass through, so adding it twice changes
 * nothing. On a server without the call layer it counts aborts itself.
 */
@Internal
public final class AbortInterceptor implements ServerInterceptor {
  private final CallLayer layer;

  /** @param layer for calls on servers without the call layer: where their aborts are counted */
  public AbortInterceptor(CallLayer layer) {
    this.layer = layer;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    CallRecord record = CallRecord.KEY.get();
    if (record == null) {
      record = CallRecord.standalone(layer, call.getMethodDescriptor());
    } else if (!record.claimForInterceptor()) {
      return next.startCall(call, headers);
    }
    CallRecord claimed = record;
    ServerCall.Listener<ReqT> listener =
        next.startCall(new HoldBackCall<>(call, claimed, layer.config.trailersOnly()), headers);
    return new SimpleForwardingServerCallListener<ReqT>(listener) {
      @Override
      public void onHalfClose() {
        claimed.peerHalfClosed = true;
        super.onHalfClose();
      }
    };
  }

  /**
   * Holds eagerly sent headers back until the first message, and merges them into the trailers of
   * a close that comes first, so that grpc-java answers trailers-only.
   */
  private static final class HoldBackCall<ReqT, RespT> extends SimpleForwardingServerCall<ReqT, RespT> {
    private final CallRecord record;
    private final boolean holdHeaders;
    // ServerCall methods are called serially by the application.
    private Metadata heldHeaders;
    private boolean messageSent;

    HoldBackCall(ServerCall<ReqT, RespT> delegate, CallRecord record, boolean holdHeaders) {
      super(delegate);
      this.record = record;
      this.holdHeaders = holdHeaders;
    }

    @Override
    public void sendHeaders(Metadata headers) {
      if (holdHeaders && !messageSent) {
        heldHeaders = headers;
        return;
      }
      record.headersPassed = true;
      super.sendHeaders(headers);
    }

    @Override
    public void sendMessage(RespT message) {
      if (heldHeaders != null) {
        Metadata headers = heldHeaders;
        heldHeaders = null;
        record.headersPassed = true;
        super.sendHeaders(headers);
      }
      messageSent = true;
      super.sendMessage(message);
    }

    @Override
    public void close(Status status, Metadata trailers) {
      if (heldHeaders != null) {
        // Closing before any headers makes grpc-java send one HEADERS frame: trailers-only.
        trailers.merge(heldHeaders);
        heldHeaders = null;
        record.headersHeldBack = true;
      }
      super.close(status, trailers);
      record.closedThroughInterceptor(status, messageSent);
    }
  }
}
