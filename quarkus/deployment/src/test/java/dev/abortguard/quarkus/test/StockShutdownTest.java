package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.QuarkusProdModeTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The packaged application (its jar started as a process, random ports), stock ({@code
 * abortguard.enabled=false}), stopped while a silent peer holds aborted streams open.
 */
class StockShutdownTest {
  @RegisterExtension
  static final QuarkusProdModeTest app = new QuarkusProdModeTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class, dev.abortguard.testing.TestServers.class,
          dev.abortguard.testing.DemoFixture.class))
      .setApplicationName("stock-shutdown")
      .setApplicationVersion("0.1")
      // The packaged jar holds the application classes only: the service's marshaller goes in too.
      .setRun(true)
      .overrideConfigKey("quarkus.grpc.server.port", "0")
      .overrideConfigKey("quarkus.grpc.server.host", "127.0.0.1")
      .overrideConfigKey("quarkus.http.port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("abortguard.enabled", "false");

  @Test
  void stopWithLingeringStreams() {
    ShutdownMeasure.Result result = ShutdownMeasure.stopWithLingeringStreams(app);
    System.out.println("Quarkus packaged app, stock, " + ShutdownMeasure.STREAMS + " lingering streams: " + result
        + "\n" + result.frames());
    // Stock: quarkus-grpc does not wait for them; the connection ends after GOAWAY, no stream reset.
    assertEquals(0, result.resets(), result.frames());
    assertTrue(result.goAway() && result.closed(), result.frames());
  }
}
