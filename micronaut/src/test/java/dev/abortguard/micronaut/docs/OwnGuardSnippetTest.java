package dev.abortguard.micronaut.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.AbortGuard;
import dev.abortguard.micronaut.MicronautApp;
import dev.abortguard.testing.RawHttp2Client;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The own-guard snippet of docs/micronaut.md: the application's {@code AbortGuard} bean replaces the
 * one from the properties (which is not even built: the bad {@code abortguard.reset} given here is
 * never read), and is the one that guards Micronaut's server, with its 2 s grace.
 */
class OwnGuardSnippetTest {
  static final String ENABLE = "test.own-guard";
  static final String PLAIN = "test.plain-own-guard";

  @Test
  void ownGuardBeanReplacesThePropertiesGuard() {
    try (MicronautApp app = MicronautApp.start(ENABLE, "true", "abortguard.reset", "sometimes");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      assertEquals(1, app.context.getBeansOfType(AbortGuard.class).size());
      // The properties' guard is never built: its abortguard.reset would not even be read.
      assertEquals(1, app.context.getBeanRegistrations(AbortGuard.class).size());
      assertEquals(Duration.ofSeconds(2), app.guard().config().resetGrace());
      int id = client.startCall("/abortguard.demo.v1.DemoService/Bidi", Map.of("x-demo-abort", "PERMISSION_DENIED"),
          false);
      RawHttp2Client.Frame trailers = client.awaitFrame(id, RawHttp2Client.HEADERS, Duration.ofSeconds(5));
      RawHttp2Client.Frame reset = client.awaitFrame(
          f -> f.type() == RawHttp2Client.RST_STREAM && f.streamId() == trailers.streamId(), Duration.ofSeconds(5));
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
      long afterMillis = (reset.receivedNanos() - trailers.receivedNanos()) / 1_000_000;
      assertEquals(2, Math.round(afterMillis / 1000.0), "reset " + afterMillis + " ms after the trailers");
    }
  }

  @Test
  void aGuardBeanWithoutReplacesWinsToo() {
    // The application starts although abortguard.reset is bad: the properties' guard is never built.
    // (getBeansOfType would build it: it creates every candidate, @Secondary ones too.)
    try (MicronautApp app = MicronautApp.start(PLAIN, "true", "abortguard.reset", "sometimes")) {
      assertEquals(dev.abortguard.ResetPolicy.NEVER, app.guard().config().reset());
    }
  }
}
