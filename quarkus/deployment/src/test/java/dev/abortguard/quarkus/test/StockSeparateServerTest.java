package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.abortguard.AbortGuard;
import dev.abortguard.sample.e2e.CoreClient;
import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.CoreClient.Shape;
import dev.abortguard.sample.e2e.E2eTools;
import dev.abortguard.sample.e2e.HaproxyProcess;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import io.quarkus.test.QuarkusUnitTest;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stock side of docs/quarkus.md's table: the same application with {@code
 * abortguard.enabled=false}, so quarkus-grpc's separate server is left exactly as it is.
 */
class StockSeparateServerTest {
  static final int CALLS = DeferredSeparateServerTest.CALLS;

  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class, QuarkusApp.class))
      .overrideConfigKey("quarkus.grpc.server.test-port", "0")
      .overrideConfigKey("quarkus.grpc.server.host", "127.0.0.1")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .overrideConfigKey("abortguard.enabled", "false");

  @Inject AbortGuard guard;

  @Test
  void stockKeepsTheStatusButNeverReleasesAPassivePeersStream(@TempDir Path dir) throws Exception {
    assertFalse(guard.config().enabled());
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", QuarkusApp.grpcPort())) {
      Frame trailers = QuarkusApp.abortedBidi(client);
      // Stock grpc-java: nothing follows the trailers, however long the peer stays silent.
      client.assertNoFrame(f -> QuarkusApp.isReset(f, trailers.streamId()), Duration.ofSeconds(2));
    }
    E2eTools.requireProxyTools();
    try (HaproxyProcess haproxy = HaproxyProcess.start(QuarkusApp.grpcPort(), dir)) {
      CoreClient client = new CoreClient(dir.resolve("client"));
      Result direct = client.run("127.0.0.1:" + QuarkusApp.grpcPort(), Shape.BIDI, Behaviour.KEEPS_SENDING, CALLS,
          4, "PERMISSION_DENIED");
      Result proxied = client.run(haproxy.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, CALLS, 4, "PERMISSION_DENIED");
      System.out.println("Quarkus separate server, stock, direct: " + direct + "\nstock, through HAProxy 2.6: " + proxied);
      assertEquals(Map.of(DeferredSeparateServerTest.REAL_STATUS, CALLS), direct.messages(), direct.toString());
      assertEquals(Map.of(DeferredSeparateServerTest.REAL_STATUS, CALLS), proxied.messages(), proxied.toString());
    }
  }
}
