package dev.abortguard.quarkus.test;

import dev.abortguard.testing.DemoFixture;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * The application's own auth-like {@code @GlobalInterceptor}, the shared one ({@link
 * DemoFixture#authInterceptor()}): a call carrying {@code x-demo-abort: <status code name>} is
 * rejected at once. Every abort the tests see comes from here, so each one also proves
 * quarkus-grpc still applies the application's interceptors under the guard.
 */
@GlobalInterceptor
@ApplicationScoped
public class AuthInterceptor implements ServerInterceptor {
  public static final String ABORT = DemoFixture.ABORT;
  public static final String DESCRIPTION = DemoFixture.DESCRIPTION;

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
      ServerCallHandler<ReqT, RespT> next) {
    return DemoFixture.authInterceptor().interceptCall(call, headers, next);
  }
}
