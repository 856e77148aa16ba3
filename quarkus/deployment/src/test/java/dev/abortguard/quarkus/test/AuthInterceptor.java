package dev.abortguard.quarkus.test;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * The application's own auth-like {@code @GlobalInterceptor}: a call carrying {@code x-demo-abort:
 * <status code name>} is rejected at once. Every abort the tests see comes from here, so each
 * one also proves quarkus-grpc still applies the application's interceptors under the guard.
 */
@GlobalInterceptor
@ApplicationScoped
public class AuthInterceptor implements ServerInterceptor {
  public static final String ABORT = "x-demo-abort";
  public static final String DESCRIPTION = "rejected by the auth interceptor";
  private static final Metadata.Key<String> ABORT_KEY = Metadata.Key.of(ABORT, Metadata.ASCII_STRING_MARSHALLER);

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
      ServerCallHandler<ReqT, RespT> next) {
    String code = headers.get(ABORT_KEY);
    if (code == null) {
      return next.startCall(call, headers);
    }
    call.close(Status.fromCode(Status.Code.valueOf(code)).withDescription(DESCRIPTION), new Metadata());
    return new ServerCall.Listener<>() {};
  }
}
