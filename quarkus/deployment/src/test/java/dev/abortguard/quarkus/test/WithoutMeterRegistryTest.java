package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.abortguard.AbortGuard;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.QuarkusUnitTest;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An application without a Micrometer registry ({@code quarkus.micrometer.enabled=false}): the
 * guard records nothing and still applies its policy on the wire.
 */
class WithoutMeterRegistryTest {
  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class, QuarkusApp.class))
      .overrideConfigKey("quarkus.grpc.server.test-port", "0")
      .overrideConfigKey("quarkus.grpc.server.host", "127.0.0.1")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("quarkus.micrometer.enabled", "false")
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .overrideConfigKey("abortguard.reset", "immediate");

  @Inject AbortGuard guard;
  @Inject Instance<MeterRegistry> registries;

  @Test
  void theGuardWorksWithNoRegistry() {
    assertFalse(registries.isResolvable(), "this application should have no MeterRegistry bean");
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", QuarkusApp.grpcPort())) {
      Frame trailers = QuarkusApp.abortedBidi(client);
      Frame reset = client.awaitFrame(f -> QuarkusApp.isReset(f, trailers.streamId()), QuarkusApp.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
    }
  }
}
