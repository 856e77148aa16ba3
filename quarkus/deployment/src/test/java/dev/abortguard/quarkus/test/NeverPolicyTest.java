package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.Await;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.QuarkusUnitTest;
import jakarta.inject.Inject;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code abortguard.reset=never}: no reset even past the grace, and the guard counts what lingers
 * until the peer ends it; then the stream is released by the peer.
 */
class NeverPolicyTest {
  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class, QuarkusApp.class))
      .overrideConfigKey("quarkus.grpc.server.test-port", "0")
      .overrideConfigKey("quarkus.grpc.server.host", "127.0.0.1")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .overrideConfigKey("abortguard.reset", "never")
      .overrideConfigKey("abortguard.reset.grace", "300ms")
      .overrideConfigKey("abortguard.trailersOnly", "false");

  @Inject MeterRegistry registry;
  @Inject dev.abortguard.AbortGuard guard;

  @Test
  void neverResetsAndCountsTheLingeringStreamUntilThePeerEndsIt() {
    neverResetsAndCounts(guard, registry, QuarkusApp.grpcPort());
  }

  /** The test, on the server at {@code port} (the unified server's too: {@link NeverUnifiedServerTest}). */
  static void neverResetsAndCounts(dev.abortguard.AbortGuard guard, MeterRegistry registry, int port) {
    assertEquals(dev.abortguard.ResetPolicy.NEVER, guard.config().reset());
    assertEquals(false, guard.config().trailersOnly());
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", port)) {
      Frame trailers = QuarkusApp.abortedBidi(client);
      client.assertNoFrame(f -> f.type() == RawHttp2Client.RST_STREAM, Duration.ofMillis(900));
      assertEquals(1, registry.get("grpc.server.streams.lingering").gauge().value());
      client.sendData(trailers.streamId(), new byte[0], true);
      Await.until("the peer's END_STREAM releases the stream",
          () -> registry.get("grpc.server.streams.lingering").gauge().value() == 0, QuarkusApp.WAIT);
      assertEquals(1, registry.get("grpc.server.streams.released").tag("cause", "peer_end_stream").counter().count());
      assertTrue(client.syncUnlessClosed(), "the connection survives the peer's late END_STREAM:\n"
          + client.describeFrames());
      client.assertNoFrame(f -> f.type() == RawHttp2Client.RST_STREAM || f.type() == RawHttp2Client.GOAWAY,
          Duration.ofMillis(200));
    }
  }
}
