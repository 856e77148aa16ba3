package dev.abortguard.micronaut;

import dev.abortguard.testing.TestTls;
import io.grpc.ServerBuilder;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * A wrong wiring: an application listener of its own that sets the builder's security after the
 * guard's listener ran, which drops the guard's HTTP/2 adapter. Only where a test asks for it.
 */
@Singleton
@Requires(property = LateSecurityListener.ENABLE, value = "true")
final class LateSecurityListener implements BeanCreatedEventListener<ServerBuilder<?>> {
  static final String ENABLE = "test.late-security-listener";

  @Override
  public ServerBuilder<?> onCreated(BeanCreatedEvent<ServerBuilder<?>> event) {
    try (InputStream cert = TestTls.certificate(); InputStream key = TestTls.privateKey()) {
      ((NettyServerBuilder) event.getBean()).sslContext(GrpcSslContexts.forServer(cert, key).build());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return event.getBean();
  }
}
