package dev.abortguard.quarkus.test;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.QuarkusUnitTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link NeverPolicyTest} on the unified Vert.x gRPC server (gRPC on the HTTP port). */
class NeverUnifiedServerTest {
  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class, QuarkusApp.class,
          NeverPolicyTest.class))
      .overrideConfigKey("quarkus.grpc.server.use-separate-server", "false")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .overrideConfigKey("abortguard.reset", "never")
      .overrideConfigKey("abortguard.reset.grace", "300ms")
      .overrideConfigKey("abortguard.trailersOnly", "false");

  @Inject MeterRegistry registry;
  @Inject dev.abortguard.AbortGuard guard;

  @Test
  void neverResetsAndCountsTheLingeringStreamUntilThePeerEndsIt() {
    NeverPolicyTest.neverResetsAndCounts(guard, registry, QuarkusApp.httpPort());
  }
}
