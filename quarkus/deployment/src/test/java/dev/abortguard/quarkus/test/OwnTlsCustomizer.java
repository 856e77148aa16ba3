package dev.abortguard.quarkus.test;

import io.grpc.netty.GrpcSslContexts;
import io.quarkus.grpc.api.ServerBuilderCustomizer;
import io.quarkus.grpc.runtime.config.GrpcServerConfiguration;
import io.vertx.grpc.VertxServerBuilder;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.File;
import javax.net.ssl.SSLException;

/** An application customizer that sets TLS on the Netty builder itself, not through quarkus.grpc.server.ssl.*. */
@ApplicationScoped
public class OwnTlsCustomizer implements ServerBuilderCustomizer<VertxServerBuilder> {
  @Override
  public void customize(GrpcServerConfiguration config, VertxServerBuilder builder) {
    String dir = System.getProperty("test.tls.dir");
    try {
      builder.nettyBuilder().sslContext(
          GrpcSslContexts.forServer(new File(dir, "server.pem"), new File(dir, "server.key")).build());
    } catch (SSLException e) {
      throw new IllegalStateException(e);
    }
  }
}
