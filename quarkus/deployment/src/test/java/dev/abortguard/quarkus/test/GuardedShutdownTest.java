package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.QuarkusProdModeTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The packaged application with the guard ({@code deferred}, a grace far past the stop), stopped
 * while a silent peer holds aborted streams open: the guard resets each lingering stream with
 * NO_ERROR when the server says GOAWAY.
 */
class GuardedShutdownTest {
  @RegisterExtension
  static final QuarkusProdModeTest app = new QuarkusProdModeTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class, dev.abortguard.testing.TestServers.class,
          dev.abortguard.testing.DemoFixture.class))
      .setApplicationName("guarded-shutdown")
      .setApplicationVersion("0.1")
      // The packaged jar holds the application classes only: the service's marshaller goes in too.
      .setRun(true)
      .overrideConfigKey("quarkus.grpc.server.port", "0")
      .overrideConfigKey("quarkus.grpc.server.host", "127.0.0.1")
      .overrideConfigKey("quarkus.http.port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("abortguard.reset", "deferred")
      .overrideConfigKey("abortguard.reset.grace", "1h");

  @Test
  void stopWithLingeringStreams() {
    ShutdownMeasure.Result result = ShutdownMeasure.stopWithLingeringStreams(app);
    System.out.println("Quarkus packaged app, guarded, " + ShutdownMeasure.STREAMS + " lingering streams: " + result
        + "\n" + result.frames());
    assertEquals(ShutdownMeasure.STREAMS, result.resets(), result.frames());
    assertTrue(result.goAway() && result.closed(), result.frames());
  }
}
