package dev.abortguard.micronaut;

import dev.abortguard.AbortGuard;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.internal.ObjectPool;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.NettySslContextServerCredentials;
import io.micronaut.context.exceptions.ConfigurationException;
import io.micronaut.core.io.ResourceResolver;
import io.micronaut.grpc.server.GrpcServerConfiguration;
import io.micronaut.grpc.server.GrpcSslConfiguration;
import io.micronaut.scheduling.TaskExecutors;
import io.netty.handler.ssl.SslContext;
import jakarta.inject.Named;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;

/**
 * Puts the guard's HTTP/2 adapter on the {@link NettyServerBuilder} Micronaut built. The one class
 * here that uses grpc-netty's {@code Internal*} API.
 *
 * <p>Micronaut makes the builder without credentials ({@code NettyServerBuilder.forPort(port)}) and,
 * with {@code grpc.server.ssl.cert-chain} and {@code private-key}, calls {@code
 * useTransportSecurity(cert, key)} on it. A builder has no getter for the security it was given,
 * so the guard cannot wrap it; instead this class turns Micronaut's SSL settings into the same
 * credentials again ({@code GrpcSslContexts.forServer(cert, key)}, as Micronaut does, so ALPN h2
 * and the ciphers are grpc-java's), wraps them with the guard and sets the result as the builder's
 * negotiator. Without SSL settings the credentials are plaintext, as Micronaut's are.
 */
@Singleton
class TransportSeam {
  private final ResourceResolver resources;
  /** The executor Micronaut gives the builder; grpc-java runs TLS handshake tasks on the server's executor. */
  private final ExecutorService executor;

  TransportSeam(ResourceResolver resources, @Named(TaskExecutors.IO) ExecutorService executor) {
    this.resources = resources;
    this.executor = executor;
  }

  void guard(NettyServerBuilder builder, GrpcServerConfiguration configuration, AbortGuard guard) {
    ServerCredentials credentials = configuration.isSecure()
        ? NettySslContextServerCredentials.create(sslContext(configuration.getServerConfiguration()))
        : InsecureServerCredentials.create();
    InternalProtocolNegotiator.ServerFactory negotiators =
        InternalNettyServerCredentials.toNegotiator(guard.wrap(credentials));
    builder.protocolNegotiator(negotiators.newNegotiator(new SharedExecutor(executor)));
  }

  /** The SslContext Micronaut's {@code GrpcServerConfiguration} builds from the same settings. */
  private SslContext sslContext(GrpcSslConfiguration ssl) {
    String certChain = ssl.getCertChain().orElseThrow();
    String privateKey = ssl.getPrivateKey().orElseThrow();
    try (InputStream cert = open(certChain, "cert-chain"); InputStream key = open(privateKey, "private-key")) {
      return GrpcSslContexts.forServer(cert, key).build();
    } catch (IOException e) {
      throw new ConfigurationException("abortguard: unable to read the TLS certificate and key of "
          + "grpc.server.ssl (" + certChain + ", " + privateKey + "): " + e.getMessage(), e);
    }
  }

  private InputStream open(String resource, String property) {
    return resources.getResourceAsStream(resource).orElseThrow(() -> new ConfigurationException(
        "abortguard: grpc.server.ssl." + property + " '" + resource + "' cannot be read any more"));
  }

  /** The server's executor, lent to the TLS negotiator and never shut down by it. */
  private static final class SharedExecutor implements ObjectPool<Executor> {
    private final Executor executor;

    SharedExecutor(Executor executor) {
      this.executor = executor;
    }

    @Override
    public Executor getObject() {
      return executor;
    }

    @Override
    public Executor returnObject(Object object) {
      return null;
    }
  }
}
