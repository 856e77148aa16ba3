package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.testing.Await;
import dev.abortguard.testing.RawHttp2Client;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.QuarkusUnitTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Misuse: an application customizer sets its own TLS on the Netty builder. The guard's adapter
 * goes in before any application customizer, so the application's TLS wins (the server is not
 * turned to plaintext) and the loss of the adapter is reported: {@code
 * abortguard.misconfigured{problem=transport_not_guarded}} and one ERROR line.
 */
class OwnSecurityCustomizerTest {
  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class, QuarkusApp.class,
          OwnTlsCustomizer.class))
      .overrideConfigKey("quarkus.grpc.server.test-port", "0")
      .overrideConfigKey("quarkus.grpc.server.host", "127.0.0.1")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .overrideConfigKey("abortguard.reset", "immediate");

  @Inject MeterRegistry registry;

  @Test
  void theApplicationsTlsWinsAndTheLostAdapterIsReported() {
    try (RawHttp2Client client = RawHttp2Client.connectTls("127.0.0.1", QuarkusApp.grpcPort())) {
      QuarkusApp.abortedBidi(client); // TLS, and the application's interceptor, as configured
    }
    Await.until("transport_not_guarded counted", () -> misconfigured() == 1, QuarkusApp.WAIT);
    assertEquals(1, misconfigured());
  }

  private double misconfigured() {
    var counter = registry.find("abortguard.misconfigured").tag("problem", "transport_not_guarded").counter();
    return counter == null ? 0 : counter.count();
  }
}
