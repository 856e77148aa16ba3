package dev.abortguard;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/** What a disabled guard hands out as its interceptor: it changes nothing. */
final class PassThroughInterceptor implements ServerInterceptor {
  static final PassThroughInterceptor INSTANCE = new PassThroughInterceptor();

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    return next.startCall(call, headers);
  }
}
