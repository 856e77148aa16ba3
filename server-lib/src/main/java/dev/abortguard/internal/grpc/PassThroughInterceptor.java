package dev.abortguard.internal.grpc;

import dev.abortguard.internal.Internal;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/** What a disabled guard hands out as its interceptor: it changes nothing. */
@Internal
public final class PassThroughInterceptor implements ServerInterceptor {
  /** The one instance. */
  public static final PassThroughInterceptor INSTANCE = new PassThroughInterceptor();

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    return next.startCall(call, headers);
  }
}
