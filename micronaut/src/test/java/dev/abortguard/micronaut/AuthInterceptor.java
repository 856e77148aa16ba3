package dev.abortguard.micronaut;

import dev.abortguard.testing.DemoFixture;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import jakarta.inject.Singleton;

/**
 * The shared auth-like interceptor ({@link DemoFixture#authInterceptor()}) as an interceptor bean:
 * {@code x-demo-abort: <status code name>} rejects a call at once, as an auth check would.
 */
@Singleton
public final class AuthInterceptor implements ServerInterceptor {
  public static final String ABORT = DemoFixture.ABORT;
  public static final String HEADERS_FIRST = DemoFixture.HEADERS_FIRST;
  public static final String DESCRIPTION = DemoFixture.DESCRIPTION;

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
      ServerCallHandler<ReqT, RespT> next) {
    return DemoFixture.authInterceptor().interceptCall(call, headers, next);
  }
}
