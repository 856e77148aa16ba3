package dev.abortguard.internal.quarkus;

import dev.abortguard.AbortGuard;
import dev.abortguard.internal.Internal;
import io.grpc.ServerBuilder;
import io.quarkus.grpc.api.ServerBuilderCustomizer;
import io.quarkus.grpc.runtime.config.GrpcServerConfiguration;
import io.vertx.grpc.VertxServerBuilder;
import jakarta.enterprise.context.Dependent;
import jakarta.inject.Inject;

/**
 * The call layer on the separate server, last of all customizers, so the guard's interceptor is
 * outside any an application customizer adds with {@code builder.intercept(...)}.
 *
 * @param <T> the builder type quarkus-grpc made
 */
@Internal
@Dependent
public class CallLayerCustomizer<T extends ServerBuilder<T>> implements ServerBuilderCustomizer<T> {
  private final AbortGuard guard;

  @Inject
  public CallLayerCustomizer(AbortGuard guard) {
    this.guard = guard;
  }

  @Override
  public void customize(GrpcServerConfiguration config, T builder) {
    if (!guard.config().enabled()) {
      return;
    }
    if (builder instanceof VertxServerBuilder) {
      SeparateServerSeam.installCallLayer(guard, (VertxServerBuilder) builder);
    } else {
      guard.install(builder); // a GrpcBuilderProvider's builder: GuardingCustomizer said what is missing
    }
  }

  @Override
  public int priority() {
    return Integer.MAX_VALUE;
  }
}
