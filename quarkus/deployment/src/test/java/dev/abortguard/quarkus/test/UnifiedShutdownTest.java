package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.QuarkusProdModeTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The packaged application on the unified Vert.x gRPC server, guarded ({@code deferred}, a grace far
 * past the stop), stopped while a silent peer holds aborted streams open on the HTTP port: Vert.x's
 * close says GOAWAY, the guard resets each lingering stream with NO_ERROR, and the stop does not wait
 * for them.
 */
class UnifiedShutdownTest {
  @RegisterExtension
  static final QuarkusProdModeTest app = new QuarkusProdModeTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class,
          dev.abortguard.testing.TestServers.class, dev.abortguard.testing.DemoFixture.class))
      .setApplicationName("unified-shutdown")
      .setApplicationVersion("0.1")
      .setRun(true)
      .overrideConfigKey("quarkus.grpc.server.use-separate-server", "false")
      .overrideConfigKey("quarkus.http.port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("abortguard.reset", "deferred")
      .overrideConfigKey("abortguard.reset.grace", "1h");

  @Test
  void stopWithLingeringStreams() {
    ShutdownMeasure.Result result = ShutdownMeasure.stopWithLingeringStreams(app, ShutdownMeasure.httpPort(app));
    System.out.println("Quarkus packaged app, unified server, guarded, " + ShutdownMeasure.STREAMS
        + " lingering streams: " + result + "\n" + result.frames());
    assertTrue(result.closed(), result.frames());
    assertEquals(ShutdownMeasure.STREAMS, result.resets(), result.frames());
  }
}
