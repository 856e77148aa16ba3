package dev.abortguard.spring.boot;

import dev.abortguard.AbortGuard;
import io.grpc.ServerBuilder;
import org.springframework.core.Ordered;
import org.springframework.grpc.server.ServerBuilderCustomizer;

/**
 * Adds the guard's call layer to every server builder Spring Boot customizes (Netty, shaded Netty,
 * in-process, servlet), after the application's customizers, so the guard's interceptor is the
 * outermost and its stream tracer counts aborts from any interceptor, Boot's own included.
 */
final class CallLayerCustomizer<T extends ServerBuilder<T>> implements ServerBuilderCustomizer<T>, Ordered {
  private final AbortGuard guard;

  CallLayerCustomizer(AbortGuard guard) {
    this.guard = guard;
  }

  @Override
  public void customize(T builder) {
    if (guard.config().enabled()) {
      guard.install(builder);
    }
  }

  @Override
  public int getOrder() {
    return Ordered.LOWEST_PRECEDENCE;
  }
}
