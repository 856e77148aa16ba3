package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.QuarkusUnitTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The separate server with Quarkus's own TLS ({@code quarkus.grpc.server.ssl.*}), which vertx-grpc
 * applies when the server starts: the guard's HTTP/2 adapter must still be on every TLS
 * connection, so {@code immediate} resets in the same read as the trailers, and the call layer's
 * transport check finds nothing misconfigured.
 */
class ImmediateTlsTest {
  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class, QuarkusApp.class))
      .overrideConfigKey("quarkus.grpc.server.test-port", "0")
      .overrideConfigKey("quarkus.grpc.server.host", "127.0.0.1")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("quarkus.grpc.server.ssl.certificate", System.getProperty("test.tls.dir") + "/server.pem")
      .overrideConfigKey("quarkus.grpc.server.ssl.key", System.getProperty("test.tls.dir") + "/server.key")
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .overrideConfigKey("abortguard.reset", "immediate");

  @Inject AbortGuard guard;
  @Inject MeterRegistry registry;

  @Test
  void immediateResetsWithNoErrorInTheTrailersReadOverQuarkusTls() {
    assertEquals(ResetPolicy.IMMEDIATE, guard.config().reset());
    try (RawHttp2Client client = RawHttp2Client.connectTls("127.0.0.1", QuarkusApp.grpcPort())) {
      Frame trailers = QuarkusApp.abortedBidi(client);
      Frame reset = client.awaitFrame(f -> QuarkusApp.isReset(f, trailers.streamId()), QuarkusApp.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
      assertEquals(trailers.readBatch(), reset.readBatch(),
          "RST_STREAM should arrive in the same read as the trailers:\n" + client.describeFrames());
    }
    double misconfigured = registry.find("abortguard.misconfigured").counters().stream()
        .mapToDouble(Counter::count).sum();
    assertEquals(0, misconfigured, "the call layer found a TLS connection without the guard's HTTP/2 adapter");
  }
}
