package dev.abortguard.internal.quarkus;

import dev.abortguard.AbortGuard;
import dev.abortguard.internal.Internal;
import io.grpc.ServerBuilder;
import io.quarkus.grpc.api.ServerBuilderCustomizer;
import io.quarkus.grpc.runtime.config.GrpcServerConfiguration;
import io.vertx.grpc.VertxServerBuilder;
import io.vertx.grpc.server.GrpcServerOptions;
import jakarta.enterprise.context.Dependent;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

/**
 * quarkus-grpc's public builder SPI, the one way in for both server modes (with {@link
 * CallLayerCustomizer}, its second half on the separate server). quarkus-grpc hands it
 * the separate server's {@link VertxServerBuilder} (or, in unified mode, the Vert.x gRPC server's
 * options) before it applies its own settings (TLS, max-inbound-message-size, keep-alive) and
 * before it adds the services with their interceptors; those are not touched here, and they
 * still apply. Generic (hence {@code @Dependent}) because quarkus-grpc calls every customizer
 * with whatever builder it made.
 *
 * @param <T> the builder type quarkus-grpc made
 */
@Internal
@Dependent
public class GuardingCustomizer<T extends ServerBuilder<T>> implements ServerBuilderCustomizer<T> {
  private static final Logger logger = Logger.getLogger("dev.abortguard");

  private final AbortGuard guard;
  private final UnifiedServerInstall unified;

  @Inject
  public GuardingCustomizer(AbortGuard guard, UnifiedServerInstall unified) {
    this.guard = guard;
    this.unified = unified;
  }

  @Override
  public void customize(GrpcServerConfiguration config, T builder) {
    if (!guard.config().enabled()) {
      logger.info("abortguard: disabled (abortguard.enabled=false), the gRPC server is left as it is");
      return;
    }
    if (builder instanceof VertxServerBuilder) {
      SeparateServerSeam.installAdapter(guard, (VertxServerBuilder) builder);
      return;
    }
    // A GrpcBuilderProvider (xDS, in-process) made this builder: no HTTP/2 layer abortguard knows.
    // CallLayerCustomizer still installs the call layer on it.
    logger.errorf("abortguard: quarkus-grpc built the gRPC server with %s, not the separate Vert.x-built "
        + "grpc-java server abortguard guards: only the call layer is installed (aborts counted, eager "
        + "headers held back); the reset policy (%s) is NOT applied to its streams.",
        builder.getClass().getName(), guard.config().reset().value());
  }

  @Override
  public void customize(GrpcServerConfiguration config, GrpcServerOptions options) {
    if (!guard.config().enabled()) {
      logger.info("abortguard: disabled (abortguard.enabled=false), the unified gRPC server is left as it is");
      return;
    }
    unified.install(guard);
  }

  /**
   * First of all customizers: the HTTP/2 adapter goes in before any application customizer, so
   * one that sets its own security wins (and the loss is reported); {@link CallLayerCustomizer}
   * runs last.
   */
  @Override
  public int priority() {
    return Integer.MIN_VALUE;
  }
}
