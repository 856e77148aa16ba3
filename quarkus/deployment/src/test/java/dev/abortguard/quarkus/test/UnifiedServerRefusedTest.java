package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quarkus.test.QuarkusUnitTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The unified Vert.x gRPC server ({@code use-separate-server=false}) is not guarded yet: the start
 * fails and says what is missing and the two ways out, rather than run unguarded unnoticed.
 */
class UnifiedServerRefusedTest {
  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class))
      .overrideConfigKey("quarkus.grpc.server.use-separate-server", "false")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .assertException(e -> assertTrue(Causes.anyMessageContains(e, "abortguard-quarkus does not guard the unified "
          + "Vert.x gRPC server yet") && Causes.anyMessageContains(e, "abortguard.enabled=false")
          && Causes.anyMessageContains(e, "quarkus.grpc.server.use-separate-server=true"), Causes.describe(e)));

  @Test
  void theStartFails() {
    fail("the application should not have started");
  }
}
