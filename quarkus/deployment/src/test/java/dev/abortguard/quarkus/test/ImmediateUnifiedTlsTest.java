package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.QuarkusUnitTest;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The unified server over Quarkus's own HTTPS ({@code quarkus.http.ssl.*}, HTTP/2 by ALPN): the
 * guard's route still guards each TLS connection, so {@code immediate} resets in the same read as
 * the trailers, and the abort is counted.
 */
class ImmediateUnifiedTlsTest {
  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class, QuarkusApp.class))
      .overrideConfigKey("quarkus.grpc.server.use-separate-server", "false")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("quarkus.http.test-ssl-port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("quarkus.http.ssl.certificate.files", System.getProperty("test.tls.dir") + "/server.pem")
      .overrideConfigKey("quarkus.http.ssl.certificate.key-files", System.getProperty("test.tls.dir") + "/server.key")
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .overrideConfigKey("abortguard.reset", "immediate");

  @Inject AbortGuard guard;
  @Inject MeterRegistry registry;

  @Test
  void immediateResetsWithNoErrorInTheTrailersReadOverQuarkusHttps() {
    assertEquals(ResetPolicy.IMMEDIATE, guard.config().reset());
    int port = ConfigProvider.getConfig().getValue("quarkus.http.test-ssl-port", Integer.class);
    assertTrue(port > 0, "no bound HTTPS port: " + port);
    try (RawHttp2Client client = RawHttp2Client.connectTls("127.0.0.1", port)) {
      Frame trailers = QuarkusApp.abortedBidi(client);
      Frame reset = client.awaitFrame(f -> QuarkusApp.isReset(f, trailers.streamId()), QuarkusApp.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
      assertEquals(trailers.readBatch(), reset.readBatch(),
          "RST_STREAM should arrive in the same read as the trailers:\n" + client.describeFrames());
      QuarkusApp.abortedBidi(client); // the connection still serves
    }
    assertTrue(registry.get("grpc.server.streams.released").tag("cause", "immediate").counter().count() >= 1);
    assertTrue(registry.get("grpc.server.aborts").tag("statusCode", "PERMISSION_DENIED").counter().count() >= 2);
  }
}
