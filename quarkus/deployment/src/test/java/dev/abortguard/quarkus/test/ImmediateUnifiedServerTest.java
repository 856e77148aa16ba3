package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.Await;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import io.quarkus.test.QuarkusUnitTest;
import jakarta.inject.Inject;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code abortguard.reset=immediate} on quarkus-grpc's unified Vert.x gRPC server: the status
 * (trailers-only), then exactly one RST_STREAM(NO_ERROR), in the trailers' read; never CANCEL.
 */
class ImmediateUnifiedServerTest {
  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class, QuarkusApp.class))
      .overrideConfigKey("quarkus.grpc.server.use-separate-server", "false")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .overrideConfigKey("abortguard.reset", "immediate");

  @Inject AbortGuard guard;

  @Test
  void immediateSendsTheStatusThenOneResetWithNoError() {
    assertEquals(ResetPolicy.IMMEDIATE, guard.config().reset());
    String before = QuarkusApp.scrape();
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", QuarkusApp.httpPort())) {
      Frame trailers = QuarkusApp.abortedBidi(client);
      Frame reset = client.awaitFrame(f -> QuarkusApp.isReset(f, trailers.streamId()), QuarkusApp.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
      assertEquals(trailers.readBatch(), reset.readBatch(),
          "RST_STREAM should arrive in the same read as the trailers:\n" + client.describeFrames());
      client.assertNoFrame(f -> QuarkusApp.isReset(f, trailers.streamId()) && f != reset, Duration.ofMillis(300));
      QuarkusApp.abortedBidi(client); // the connection still serves
    }
    Await.until("the scrape counts the immediate release", () -> QuarkusApp.delta(before,
        QuarkusApp.scrape(), "grpc_server_streams_released_total", "cause=\"immediate\"") >= 2, QuarkusApp.WAIT);
    String after = QuarkusApp.scrape();
    assertTrue(QuarkusApp.delta(before, after, "grpc_server_aborts_total", "methodType=\"UNKNOWN\"",
        "statusCode=\"PERMISSION_DENIED\"") >= 2, after);
  }
}
