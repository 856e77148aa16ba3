package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quarkus.test.QuarkusUnitTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Misuse: with a {@code quarkus.http.root-path} other than {@code /}, quarkus-grpc routes the
 * unified server's gRPC on the outer router, where the guard's route (on the root-path router
 * Quarkus fires) would never run. The start fails, naming the setting and the ways out, rather
 * than run unguarded unnoticed.
 */
class UnifiedServerRootPathTest {
  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class))
      .overrideConfigKey("quarkus.grpc.server.use-separate-server", "false")
      .overrideConfigKey("quarkus.http.root-path", "/api")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .assertException(e -> assertTrue(Causes.anyMessageContains(e, "quarkus.http.root-path=/ (found '/api')")
          && Causes.anyMessageContains(e, "abortguard.enabled=false")
          && Causes.anyMessageContains(e, "quarkus.grpc.server.use-separate-server=true"), Causes.describe(e)));

  @Test
  void theStartFails() {
    fail("the application should not have started");
  }
}
