package dev.abortguard.micronaut;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.micronaut.core.order.Ordered;
import jakarta.inject.Singleton;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A second {@link ServerInterceptor} bean that only counts the calls it sees: interceptor beans still
 * run, in Micronaut's order (highest precedence outermost, so it sees the calls the auth bean rejects).
 */
@Singleton
public final class CallCounter implements ServerInterceptor, Ordered {
  private final AtomicInteger calls = new AtomicInteger();

  public int calls() {
    return calls.get();
  }

  @Override
  public int getOrder() {
    return HIGHEST_PRECEDENCE;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
      ServerCallHandler<ReqT, RespT> next) {
    calls.incrementAndGet();
    return next.startCall(call, headers);
  }
}
