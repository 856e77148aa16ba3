package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quarkus.test.QuarkusUnitTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A bad {@code abortguard.reset} in application.properties fails the start with the message the
 * system property gives: the property, the value and what is allowed.
 */
class InvalidPropertyTest {
  static final String MESSAGE = "Invalid value 'sometimes' for abortguard.reset: expected one of deferred, never, immediate";

  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class))
      .overrideConfigKey("quarkus.grpc.server.test-port", "0")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .overrideConfigKey("abortguard.reset", "sometimes")
      .assertException(e -> assertTrue(Causes.anyMessageContains(e, MESSAGE), Causes.describe(e)));

  @Test
  void theStartFails() {
    fail("the application should not have started");
  }
}
