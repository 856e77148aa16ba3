package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.sample.e2e.CoreClient;
import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.CoreClient.Shape;
import dev.abortguard.sample.e2e.E2eTools;
import dev.abortguard.sample.e2e.HaproxyProcess;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import io.quarkus.test.QuarkusUnitTest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The unified Vert.x gRPC server with {@code abortguard.enabled=false}: it starts and serves, stock
 * (the guard's route stays inactive). Also the stock side of the unified server's measurement
 * against {@link DeferredUnifiedServerTest}: the status arrives trailers-only and nothing follows
 * for a silent peer, whose stream stays open.
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

  @Test
  void stockUnifiedServerKeepsTheStatusDirectAndThroughHaproxy(@TempDir Path dir) throws Exception {
    E2eTools.requireProxyTools();
    int calls = DeferredSeparateServerTest.CALLS;
    try (HaproxyProcess haproxy = HaproxyProcess.start(QuarkusApp.httpPort(), dir)) {
      CoreClient client = new CoreClient(dir.resolve("client"));
      Result direct = client.run("127.0.0.1:" + QuarkusApp.httpPort(), Shape.BIDI, Behaviour.KEEPS_SENDING,
          QuarkusApp.UNIFIED_DIRECT_CALLS, 4, "PERMISSION_DENIED");
      Result proxied = client.run(haproxy.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, calls, 4, "PERMISSION_DENIED");
      Result proxiedClientStream = client.run(haproxy.target(), Shape.CLIENT_STREAM, Behaviour.KEEPS_SENDING, calls, 4,
          "PERMISSION_DENIED");
      System.out.println("Quarkus unified server, stock, direct: " + direct + "\nunified, stock, through HAProxy 2.6: "
          + proxied + "\nunified, stock, CLIENT_STREAM through HAProxy 2.6: " + proxiedClientStream);
      assertEquals(Map.of(DeferredSeparateServerTest.REAL_STATUS, calls), proxiedClientStream.messages(),
          proxiedClientStream.toString());
      assertEquals(Map.of(DeferredSeparateServerTest.REAL_STATUS, QuarkusApp.UNIFIED_DIRECT_CALLS), direct.messages(),
          direct.toString());
      assertEquals(Map.of(DeferredSeparateServerTest.REAL_STATUS, calls), proxied.messages(), proxied.toString());
    }
  }

  /**
   * Stock Vert.x (Quarkus's 4.5.27 on Netty 4.1.133): a peer that resets each aborted stream after its
   * status, as grpcio does, has its connection ended at the 201st reset within 30 s, by the reset-flood
   * protection ({@code quarkus.http.limits.rst-flood-max-rst-frame-per-window}, default 200). Not the
   * guard's doing: it is why the unified tests run fewer grpcio calls per connection.
   */
  @Test
  void stockEndsAConnectionWhosePeerResetsTwoHundredAbortedStreams() {
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", QuarkusApp.httpPort())) {
      for (int i = 0; i < 200; i++) {
        Frame trailers = QuarkusApp.abortedBidi(client);
        client.sendRstStream(trailers.streamId(), RawHttp2Client.NO_ERROR);
      }
      client.sync();
      client.assertNoFrame(f -> f.type() == RawHttp2Client.GOAWAY, Duration.ofMillis(200));
      int last = client.startCall(DemoService.BIDI, Map.of(AuthInterceptor.ABORT, "PERMISSION_DENIED"), false);
      client.awaitFrame(last, RawHttp2Client.HEADERS, QuarkusApp.WAIT);
      client.sendRstStream(last, RawHttp2Client.NO_ERROR);
      Frame goAway = client.awaitFrame(f -> f.type() == RawHttp2Client.GOAWAY, QuarkusApp.WAIT);
      assertEquals(0xb, goAway.errorCode(), client.describeFrames()); // ENHANCE_YOUR_CALM
    }
  }
}
