package dev.abortguard.spring.boot;

import dev.abortguard.AbortGuard;
import io.grpc.ServerCredentials;
import io.grpc.ServerServiceDefinition;
import io.grpc.TlsServerCredentials.ClientAuth;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;
import org.springframework.grpc.server.ShadedNettyGrpcServerFactory;
import org.springframework.grpc.server.ServerBuilderCustomizer;

/**
 * Spring gRPC's {@link ShadedNettyGrpcServerFactory} (grpc-netty-shaded) with an {@link
 * AbortGuard}: the credentials it builds its server from, plaintext or TLS, carry the guard's HTTP/2
 * adapter, and the guard's call layer goes on the builder after every customizer. The auto-configuration puts
 * one in place of Spring Boot's factory with the same settings; extend it to define a factory of
 * your own.
 */
public class GuardedShadedNettyGrpcServerFactory extends ShadedNettyGrpcServerFactory
    implements GuardedGrpcServerFactory {
  private final AbortGuard guard;

  /** The arguments of {@link ShadedNettyGrpcServerFactory}'s constructor, after the guard. */
  public GuardedShadedNettyGrpcServerFactory(AbortGuard guard, String address,
      List<ServerBuilderCustomizer<NettyServerBuilder>> serverBuilderCustomizers, KeyManagerFactory keyManager,
      TrustManagerFactory trustManager, ClientAuth clientAuth) {
    super(address, serverBuilderCustomizers, keyManager, trustManager, clientAuth);
    this.guard = Objects.requireNonNull(guard, "guard");
  }

  /**
   * A guarded factory with the settings of {@code factory}, a {@link ShadedNettyGrpcServerFactory}
   * and no subclass.
   */
  @SuppressWarnings("unchecked")
  static GuardedShadedNettyGrpcServerFactory copyOf(AbortGuard guard, Object factory) {
    FactorySettings settings = FactorySettings.of((ShadedNettyGrpcServerFactory) factory);
    return settings.applyTo(new GuardedShadedNettyGrpcServerFactory(guard, settings.address,
        (List<ServerBuilderCustomizer<NettyServerBuilder>>) settings.customizers, settings.keyManager,
        settings.trustManager, settings.clientAuth));
  }

  @Override
  public AbortGuard abortGuard() {
    return guard;
  }

  /**
   * Spring gRPC's builder. Its domain-socket server ({@code unix:} address) is built without
   * credentials, so the guard's HTTP/2 adapter cannot go in there; startup says so.
   */
  @Override
  protected NettyServerBuilder newServerBuilder() {
    if (address().startsWith("unix:")) {
      logger.warn("abortguard cannot put its HTTP/2 adapter into the domain-socket server at " + address()
          + ": Spring gRPC builds it without credentials. Only the call layer applies, and the server reports "
          + "abortguard.misconfigured{problem=transport_not_guarded}.");
    }
    return super.newServerBuilder();
  }

  /** Spring gRPC's credentials, wrapped by the guard. */
  @Override
  protected ServerCredentials credentials() {
    return guard.wrap(super.credentials());
  }

  /** Spring gRPC's configuration, then the guard's call layer (outermost, and only once). */
  @Override
  protected void configure(NettyServerBuilder builder, List<ServerServiceDefinition> serviceDefinitions) {
    super.configure(builder, serviceDefinitions);
    guard.install(builder);
  }
}
