package dev.abortguard.quarkus.test;

import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import io.quarkus.test.QuarkusUnitTest;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The unified Vert.x gRPC server with {@code abortguard.enabled=false}, the documented way to run
 * it until abortguard-vertx is wired: it starts and serves, stock. Also the stock measurement of
 * Quarkus's unified server: the status arrives trailers-only and nothing follows for a silent peer.
 */
class UnifiedServerDisabledTest {
  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class, QuarkusApp.class))
      .overrideConfigKey("quarkus.grpc.server.use-separate-server", "false")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .overrideConfigKey("abortguard.enabled", "false");

  @Test
  void startsAndServesStockWithTheGuardDisabled() {
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", QuarkusApp.httpPort())) {
      Frame trailers = QuarkusApp.abortedBidi(client);
      client.assertNoFrame(f -> QuarkusApp.isReset(f, trailers.streamId()), Duration.ofSeconds(2));
    }
  }
}
