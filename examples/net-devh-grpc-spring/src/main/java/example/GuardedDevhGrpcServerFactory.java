package example;

import static net.devh.boot.grpc.common.util.GrpcUtils.DOMAIN_SOCKET_ADDRESS_PREFIX;
import static net.devh.boot.grpc.server.config.GrpcServerProperties.ANY_IP_ADDRESS;

import com.google.common.net.InetAddresses;
import dev.abortguard.AbortGuard;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.NettySslContextServerCredentials;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.InetSocketAddress;
import java.util.List;
import javax.net.ssl.SSLException;
import net.devh.boot.grpc.server.config.GrpcServerProperties;
import net.devh.boot.grpc.server.config.GrpcServerProperties.Security;
import net.devh.boot.grpc.server.serverfactory.GrpcServerConfigurer;
import net.devh.boot.grpc.server.serverfactory.NettyGrpcServerFactory;

/**
 * net.devh's {@link NettyGrpcServerFactory}, with the builder made from {@code guard.wrap(credentials)}
 * instead of {@code NettyServerBuilder.forPort(port)}, and the call layer installed after every
 * {@link GrpcServerConfigurer}. Only protected, public API of net.devh and abortguard; no reflection.
 */
public class GuardedDevhGrpcServerFactory extends NettyGrpcServerFactory {
  private final AbortGuard guard;

  public GuardedDevhGrpcServerFactory(GrpcServerProperties properties, List<GrpcServerConfigurer> configurers,
      AbortGuard guard) {
    super(properties, configurers);
    this.guard = guard;
  }

  @Override
  protected NettyServerBuilder newServerBuilder() {
    String address = getAddress();
    if (address.startsWith(DOMAIN_SOCKET_ADDRESS_PREFIX)) {
      // net.devh builds the domain-socket server without credentials: call layer only
      // (guard.install logs abortguard.misconfigured{problem=transport_not_guarded}).
      return super.newServerBuilder();
    }
    ServerCredentials credentials = guard.wrap(credentials());
    if (ANY_IP_ADDRESS.equals(address)) {
      return NettyServerBuilder.forPort(getPort(), credentials);
    }
    return NettyServerBuilder.forAddress(new InetSocketAddress(InetAddresses.forString(address), getPort()), credentials);
  }

  /** What net.devh's configureSecurity would give to builder.sslContext(...), as credentials. */
  private ServerCredentials credentials() {
    Security security = properties.getSecurity();
    if (!security.isEnabled()) {
      return InsecureServerCredentials.create();
    }
    SslContextBuilder ssl = newServerSslContextBuilder(security);
    configureAcceptedClientCertificates(security, ssl);
    if (security.getCiphers() != null && !security.getCiphers().isEmpty()) {
      ssl.ciphers(security.getCiphers());
    }
    if (security.getProtocols() != null && security.getProtocols().length > 0) {
      ssl.protocols(security.getProtocols());
    }
    try {
      return NettySslContextServerCredentials.create(ssl.build());
    } catch (SSLException e) {
      throw new IllegalStateException("Failed to create ssl context for grpc server", e);
    }
  }

  @Override
  protected void configureSecurity(NettyServerBuilder builder) {
    // Done in credentials(): on a builder made from credentials, net.devh's builder.sslContext(...)
    // would throw "Cannot change security when using ServerCredentials". The domain-socket builder
    // is made without credentials, so it keeps net.devh's own security.
    if (getAddress().startsWith(DOMAIN_SOCKET_ADDRESS_PREFIX)) {
      super.configureSecurity(builder);
    }
  }

  @Override
  protected void configure(NettyServerBuilder builder) {
    super.configure(builder); // services, keep-alive, limits, then every GrpcServerConfigurer
    guard.install(builder);
  }
}
