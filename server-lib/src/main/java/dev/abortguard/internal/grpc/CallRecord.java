package dev.abortguard.internal.grpc;

import dev.abortguard.internal.metrics.GuardMetrics.Mitigation;
import dev.abortguard.internal.metrics.GuardMetrics.Peer;
import dev.abortguard.internal.metrics.GuardMetrics.Response;
import io.grpc.Context;
import io.grpc.MethodDescriptor;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import io.netty.handler.codec.http2.Http2Stream;
import java.util.concurrent.Executor;

/**
 * What the guard learns about one call, and the decision whether it was an abort.
 *
 * <p>grpc-java reports every call's end to its stream tracers, whatever the interceptor order, so
 * counting here sees the aborts of every interceptor. Facts flow in from three places: the call
 * itself ({@link #serverCallStarted}, {@link #outboundMessage}, {@link #streamClosed}), the HTTP/2
 * stream on a guarded Netty connection ({@link #onWire}, {@link #onEarlyClose}), and the guard's
 * interceptor if the call passed through it (hold-back, half-close). A tracer's {@code
 * streamClosed} also fires when the peer or the connection ends a call; grpc-java cancels the
 * call's context with a cause in exactly those cases, so the count waits for that context.
 */
final class CallRecord extends ServerStreamTracer {
  /** Lets the guard's interceptor find the call's record. */
  static final Context.Key<CallRecord> KEY = Context.key("dev.abortguard.call");
  private static final Executor DIRECT = Runnable::run;

  private final CallLayer layer;
  /** Made by an interceptor on a server without the call layer: it counts what it sees close. */
  private final boolean standalone;
  /** Another guard's record is already on this call: this one records nothing. */
  private boolean passive;

  private volatile MethodDescriptor<?, ?> method;
  private Context callContext;
  private volatile boolean messageSent;

  // Set on the connection's event loop.
  private Http2Stream wire;
  private boolean earlyClosed;
  private boolean resetWithheld;
  private boolean wireHeadersBeforeTrailers;
  private Status.Code closedWith;

  // Set by the guard's interceptor, on the call's executor.
  private volatile boolean claimed;
  volatile boolean peerHalfClosed;
  volatile boolean headersHeldBack;
  volatile boolean headersPassed;

  CallRecord(CallLayer layer, boolean standalone) {
    this.layer = layer;
    this.standalone = standalone;
  }

  static CallRecord standalone(CallLayer layer, MethodDescriptor<?, ?> method) {
    CallRecord record = new CallRecord(layer, true);
    record.method = method;
    record.claimed = true;
    return record;
  }

  /** Whether the calling interceptor is the first of the guard's on this call (others pass through). */
  synchronized boolean claimForInterceptor() {
    if (claimed || passive) {
      return false;
    }
    claimed = true;
    return true;
  }

  boolean isStandalone() {
    return standalone;
  }

  @Override
  public Context filterContext(Context context) {
    if (KEY.get(context) != null) {
      passive = true; // the call layer was installed twice: the first one counts
      return context;
    }
    return context.withValue(KEY, this);
  }

  @Override
  public void serverCallStarted(ServerCallInfo<?, ?> callInfo) {
    method = callInfo.getMethodDescriptor();
    callContext = Context.current(); // the call's cancellable context
  }

  @Override
  public void outboundMessage(int seqNo) {
    messageSent = true;
  }

  /** The call's HTTP/2 stream on a guarded connection. Event loop. */
  void onWire(Http2Stream stream) {
    wire = stream;
  }

  /** The server ended the stream while the peer still had it open. Event loop. */
  void onEarlyClose(boolean resetWithheld) {
    earlyClosed = true;
    this.resetWithheld = resetWithheld;
  }

  /** The guard's interceptor saw the call closed; {@code messageSent} by what it saw. */
  void closedThroughInterceptor(Status status, boolean messageSentThroughInterceptor) {
    if (standalone && !status.isOk() && !messageSentThroughInterceptor) {
      count(status.getCode());
    }
  }

  @Override
  public void streamClosed(Status status) {
    if (passive || standalone || status.isOk() || messageSent || method == null || callContext == null) {
      return;
    }
    closedWith = status.getCode();
    if (wire != null) {
      wireHeadersBeforeTrailers = wire.isTrailersSent();
    }
    // Closed by the server (a null cause) or ended by the peer or the connection (a cause).
    callContext.addListener(this::callContextCancelled, DIRECT);
  }

  private void callContextCancelled(Context context) {
    if (context.cancellationCause() == null) {
      count(closedWith);
    }
  }

  private void count(Status.Code code) {
    MethodDescriptor<?, ?> method = this.method;
    Peer peer;
    if (method.getType().clientSendsOneMessage()) {
      peer = Peer.HALF_CLOSED; // the one message came with END_STREAM
    } else if (wire != null) {
      peer = earlyClosed ? Peer.STREAMING : Peer.HALF_CLOSED;
    } else {
      peer = peerHalfClosed ? Peer.HALF_CLOSED : Peer.STREAMING;
    }
    boolean headersFirst = wire != null ? wireHeadersBeforeTrailers : headersPassed;
    // Mitigations and reports first: whoever reads the abort count then sees them too.
    if (headersHeldBack) {
      layer.metrics.onMitigated(method, code, Mitigation.TRAILERS_ONLY);
    }
    if (earlyClosed && resetWithheld) {
      layer.metrics.onMitigated(method, code, Mitigation.RESET_WITHHELD);
    }
    if (headersFirst && !headersPassed && layer.config.trailersOnly()) {
      layer.headersSentOutsideInterceptor(method);
    }
    layer.metrics.onAbort(method, code, peer, headersFirst ? Response.HEADERS_THEN_TRAILERS : Response.TRAILERS_ONLY);
  }
}
