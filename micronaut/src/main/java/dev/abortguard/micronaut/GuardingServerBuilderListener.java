package dev.abortguard.micronaut;

import dev.abortguard.AbortGuard;
import io.grpc.ServerBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.micronaut.context.BeanProvider;
import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import io.micronaut.core.order.Ordered;
import io.micronaut.grpc.server.GrpcServerConfiguration;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guards the {@link ServerBuilder} bean Micronaut's gRPC server is built from. Micronaut makes
 * that bean from {@code GrpcServerConfiguration} (port, host, {@code grpc.server.*} builder settings,
 * {@code grpc.server.ssl.*}) and adds every service, {@code ServerInterceptor} and transport filter
 * bean before this listener sees it; the listener changes only what the guard needs and keeps
 * the rest:
 *
 * <ul>
 *   <li>the HTTP/2 adapter: the builder's security again, from Micronaut's SSL settings, with the
 *       guard in it ({@link TransportSeam});
 *   <li>the call layer ({@link AbortGuard#install}), added last, so its interceptor is outermost.
 * </ul>
 *
 * <p>It runs first among listeners on the builder: a listener of the application's that sets the
 * builder's security afterwards wins, and the guard then says so at run time (one ERROR line and
 * {@code abortguard.misconfigured{problem=transport_not_guarded}}) instead of the guard silently
 * replacing that security.
 */
@Singleton
class GuardingServerBuilderListener implements BeanCreatedEventListener<ServerBuilder<?>>, Ordered {
  private static final Logger logger = LoggerFactory.getLogger(GuardingServerBuilderListener.class);

  private final BeanProvider<AbortGuard> guard;
  private final BeanProvider<TransportSeam> transport;
  private final BeanProvider<GrpcServerConfiguration> configuration;

  GuardingServerBuilderListener(BeanProvider<AbortGuard> guard, BeanProvider<TransportSeam> transport,
      BeanProvider<GrpcServerConfiguration> configuration) {
    this.guard = guard;
    this.transport = transport;
    this.configuration = configuration;
  }

  @Override
  public ServerBuilder<?> onCreated(BeanCreatedEvent<ServerBuilder<?>> event) {
    ServerBuilder<?> builder = event.getBean();
    AbortGuard abortGuard = guard.get();
    if (!abortGuard.config().enabled()) {
      return builder;
    }
    if (builder instanceof NettyServerBuilder && configuration.isPresent()) {
      transport.get().guard((NettyServerBuilder) builder, configuration.get(), abortGuard);
    } else {
      logger.warn("abortguard: the gRPC server builder is a {}, not the NettyServerBuilder Micronaut's "
          + "GrpcServerConfiguration makes: only the call layer applies to it", builder.getClass().getName());
    }
    abortGuard.install(builder);
    return builder;
  }

  @Override
  public int getOrder() {
    return HIGHEST_PRECEDENCE;
  }
}
