package dev.abortguard.internal.quarkus.deployment;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The build-time check behind the TLS rewrite: it finds the one call in the vertx-grpc that
 * Quarkus 3.33 brings, and fails loudly, naming what it did not find, where the class is absent.
 */
class SslContextCallTest {
  @Test
  void theCallIsInQuarkusVertxGrpc() {
    assertDoesNotThrow(() -> SslContextCall.requirePresent(getClass().getClassLoader()));
  }

  @Test
  void aVertxGrpcWithoutItFailsTheBuildNamingIt() {
    ClassLoader empty = new ClassLoader(null) {};
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> SslContextCall.requirePresent(empty));
    assertTrue(e.getMessage().startsWith("abortguard-quarkus cannot keep the guard on TLS connections of "
        + "quarkus-grpc's separate server with this vertx-grpc (not found): the class "
        + "io.vertx.grpc.VertxServer$ActualServer is absent"), e.getMessage());
  }
}
