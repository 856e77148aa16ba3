package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.QuarkusProdModeTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link UnifiedShutdownTest}'s stop, stock ({@code abortguard.enabled=false}): what the guard's
 * resets are measured against.
 */
class UnifiedStockShutdownTest {
  @RegisterExtension
  static final QuarkusProdModeTest app = new QuarkusProdModeTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class,
          dev.abortguard.testing.TestServers.class, dev.abortguard.testing.DemoFixture.class))
      .setApplicationName("unified-stock-shutdown")
      .setApplicationVersion("0.1")
      .setRun(true)
      .overrideConfigKey("quarkus.grpc.server.use-separate-server", "false")
      .overrideConfigKey("quarkus.http.port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("abortguard.enabled", "false");

  @Test
  void stopWithLingeringStreams() {
    ShutdownMeasure.Result result = ShutdownMeasure.stopWithLingeringStreams(app, ShutdownMeasure.httpPort(app));
    System.out.println("Quarkus packaged app, unified server, stock, " + ShutdownMeasure.STREAMS
        + " lingering streams: " + result + "\n" + result.frames());
    assertTrue(result.closed(), result.frames());
    assertEquals(0, result.resets(), result.frames());
  }
}
