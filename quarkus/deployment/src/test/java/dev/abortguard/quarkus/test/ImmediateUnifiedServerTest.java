package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.sample.e2e.CoreClient;
import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.CoreClient.Shape;
import dev.abortguard.sample.e2e.E2eTools;
import dev.abortguard.sample.e2e.HaproxyProcess;
import dev.abortguard.testing.Await;
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
 * {@code abortguard.reset=immediate} on quarkus-grpc's unified Vert.x gRPC server: the status
 * (trailers-only), then exactly one RST_STREAM(NO_ERROR), in the trailers' read; never CANCEL.
 * Through HAProxy 2.6 that reset becomes CANCEL for grpcio, as on every stack: why the default
 * is {@code deferred}.
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

  @Test
  void immediateLosesStatusesThroughHaproxyNeverCancelledDirect(@TempDir Path dir) throws Exception {
    E2eTools.requireProxyTools();
    // Each abort here costs the guard's RST_STREAM(NO_ERROR), then grpcio's DATA in flight on the stream, which the
    // guard keeps from Netty's decoder: its answers would count against Vert.x's reset limit (see the test below).
    int calls = QuarkusApp.UNIFIED_DIRECT_CALLS;
    String real = "PERMISSION_DENIED: " + AuthInterceptor.DESCRIPTION;
    try (HaproxyProcess haproxy = HaproxyProcess.start(QuarkusApp.httpPort(), dir)) {
      CoreClient client = new CoreClient(dir.resolve("client"));
      Result direct = client.run("127.0.0.1:" + QuarkusApp.httpPort(), Shape.BIDI, Behaviour.KEEPS_SENDING, calls,
          4, "PERMISSION_DENIED");
      Result proxied = client.run(haproxy.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, calls, 4, "PERMISSION_DENIED");
      System.out.println("Quarkus unified server, immediate, direct: " + direct
          + "\nunified, immediate, through HAProxy 2.6: " + proxied);
      // Direct, every call gets its real status, past Vert.x's reset limit too (200 per 30 s per connection).
      assertEquals(calls, direct.messages().getOrDefault(real, 0), direct.toString());
      assertTrue(proxied.count("CANCELLED") > calls / 2,
          "immediate through HAProxy 2.6 should reproduce the proxy bug for most calls: " + proxied + "\n"
              + haproxy.describe());
    }
  }

  /**
   * Once the guard has reset a stream, Netty no longer knows it and would answer each DATA the client
   * still sends on it with RST_STREAM(STREAM_CLOSED), which Vert.x's HTTP/2 handler counts against
   * Netty's limit on the server's own error resets ({@code
   * quarkus.http.limits.rst-flood-max-rst-frame-per-window}, default 200 per 30 s): without the
   * guard's late-frame filter the 201st such DATA ended the connection with GOAWAY(ENHANCE_YOUR_CALM).
   * Here 400 late DATA frames, past the limit twice, leave the connection serving, with at most one
   * answered (the first frame after the guard attached, before it found the frame boundary).
   */
  @Test
  void lateDataOnReleasedStreamsKeepsTheConnection() {
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", QuarkusApp.httpPort())) {
      Frame trailers = QuarkusApp.abortedBidi(client);
      client.awaitFrame(f -> QuarkusApp.isReset(f, trailers.streamId()), QuarkusApp.WAIT);
      for (int i = 0; i < 400; i++) {
        client.sendMessage(trailers.streamId(), new byte[10], false);
      }
      client.sync();
      client.assertNoFrame(f -> f.type() == RawHttp2Client.GOAWAY, Duration.ofMillis(300));
      long answered = client.frames(trailers.streamId()).stream()
          .filter(f -> f.type() == RawHttp2Client.RST_STREAM && f.errorCode() == RawHttp2Client.STREAM_CLOSED).count();
      assertTrue(answered <= 1, answered + " late DATA answered\n" + client.describeFrames());
      Frame again = QuarkusApp.abortedBidi(client);
      assertEquals("7", again.header("grpc-status"), client.describeFrames());
    }
  }
}
