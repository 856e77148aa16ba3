package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.quarkus.test.QuarkusUnitTest;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The unified copy of {@link DeferredSeparateServerTest}: a Quarkus application on quarkus-grpc's
 * unified Vert.x gRPC server ({@code use-separate-server=false}, gRPC in h2c on the main HTTP port,
 * random), with abortguard-quarkus, the Prometheus registry, an application {@code
 * @GlobalInterceptor} and {@code quarkus.grpc.server.max-inbound-message-size}. The guard's route
 * must run before quarkus-grpc's gRPC route, which never passes a gRPC request on: every count and
 * every withheld-then-sent reset below proves it did.
 */
class DeferredUnifiedServerTest {
  static final Duration GRACE = Duration.ofMillis(600);
  static final int CALLS = DeferredSeparateServerTest.CALLS;
  static final int CONCURRENCY = DeferredSeparateServerTest.CONCURRENCY;
  static final String REAL_STATUS = DeferredSeparateServerTest.REAL_STATUS;
  static final String BIDI_TAGS = "method=\"Bidi\",methodType=\"UNKNOWN\"";

  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class, QuarkusApp.class))
      .overrideConfigKey("quarkus.grpc.server.use-separate-server", "false")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("quarkus.grpc.server.max-inbound-message-size", "1000")
      // The e2e harness's -Dabortguard.e2e.scripts is not an abortguard-quarkus setting.
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .overrideConfigKey("abortguard.reset", "deferred")
      .overrideConfigKey("abortguard.reset.grace", "600ms")
      .overrideConfigKey("abortguard.lingering.max", "64");

  @Inject AbortGuard guard;

  @Test
  void deferredWithholdsTheResetThenResetsWithNoErrorAfterTheGrace() {
    assertEquals(ResetPolicy.DEFERRED, guard.config().reset());
    String before = QuarkusApp.scrape();
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", QuarkusApp.httpPort())) {
      Frame trailers = QuarkusApp.abortedBidi(client);
      client.assertNoFrame(f -> QuarkusApp.isReset(f, trailers.streamId()), GRACE.dividedBy(2));
      Frame reset = client.awaitFrame(f -> QuarkusApp.isReset(f, trailers.streamId()), QuarkusApp.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
      long after = reset.receivedNanos() - trailers.receivedNanos();
      assertTrue(after >= GRACE.minusMillis(50).toNanos(),
          "the reset came " + after / 1_000_000 + " ms after the trailers:\n" + client.describeFrames());
      client.assertNoFrame(f -> f.type() == RawHttp2Client.RST_STREAM && f.streamId() == trailers.streamId()
          && f != reset, Duration.ofMillis(200));
      // The connection still serves: the next call on it gets its own status.
      QuarkusApp.abortedBidi(client);
    }
    String[] after = new String[1];
    Await.until("the scrape counts the abort and its grace release", () -> {
      after[0] = QuarkusApp.scrape();
      return delta(before, after[0], "grpc_server_streams_released_total", "cause=\"grace_expired\"") >= 1;
    }, QuarkusApp.WAIT);
    // Counted at all only if the guard's route ran before quarkus-grpc's (which ends the routing of gRPC requests).
    assertTrue(delta(before, after[0], "grpc_server_aborts_total", BIDI_TAGS, "statusCode=\"PERMISSION_DENIED\"",
        "peer=\"streaming\"", "response=\"trailers_only\"") >= 1, after[0]);
    assertTrue(delta(before, after[0], "grpc_server_aborts_mitigated_total", "mitigation=\"reset_withheld\"") >= 1,
        after[0]);
  }

  @Test
  void maxInboundMessageSizeStillApplies() throws Exception {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", QuarkusApp.httpPort()).usePlaintext().build();
    try {
      byte[] small = new byte[100];
      assertEquals(100, ClientCalls.blockingUnaryCall(channel, DemoService.UNARY, CallOptions.DEFAULT, small).length);
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> ClientCalls.blockingUnaryCall(channel, DemoService.UNARY, CallOptions.DEFAULT, new byte[2000]));
      System.out.println("unified server, 2000-byte message over max-inbound-message-size=1000: " + e.getStatus());
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.toString());
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void everyStatusSurvivesHaproxyAndTheScrapeCountsThem(@TempDir Path dir) throws Exception {
    E2eTools.requireProxyTools();
    String before = QuarkusApp.scrape();
    try (HaproxyProcess haproxy = HaproxyProcess.start(QuarkusApp.httpPort(), dir)) {
      CoreClient client = new CoreClient(dir.resolve("client"));
      Result direct = client.run("127.0.0.1:" + QuarkusApp.httpPort(), Shape.BIDI, Behaviour.KEEPS_SENDING,
          QuarkusApp.UNIFIED_DIRECT_CALLS, CONCURRENCY, "PERMISSION_DENIED");
      System.out.println("Quarkus unified server, deferred, BIDI direct: " + direct);
      assertEquals(Map.of(REAL_STATUS, QuarkusApp.UNIFIED_DIRECT_CALLS), direct.messages(), direct.toString());
      for (Shape shape : Shape.values()) {
        Result proxied = client.run(haproxy.target(), shape, Behaviour.KEEPS_SENDING, CALLS, CONCURRENCY,
            "PERMISSION_DENIED");
        System.out.println("Quarkus unified server, deferred, " + shape + " through HAProxy 2.6: " + proxied);
        assertEquals(Map.of(REAL_STATUS, CALLS), proxied.messages(), proxied + "\n" + haproxy.describe());
      }
    }
    int total = QuarkusApp.UNIFIED_DIRECT_CALLS + CALLS * Shape.values().length;
    String[] after = new String[1];
    Await.until("the scrape counts every abort and release", () -> {
      after[0] = QuarkusApp.scrape();
      return delta(before, after[0], "grpc_server_streams_released_total") >= total
          && QuarkusApp.sample(after[0], "grpc_server_streams_lingering") == 0;
    }, Duration.ofSeconds(10));
    assertEquals(total, delta(before, after[0], "grpc_server_aborts_total", "methodType=\"UNKNOWN\"",
        "statusCode=\"PERMISSION_DENIED\"", "peer=\"streaming\"", "response=\"trailers_only\""), after[0]);
    assertEquals(total, delta(before, after[0], "grpc_server_aborts_mitigated_total",
        "mitigation=\"reset_withheld\""), after[0]);
    // Every stream released by its peer: HAProxy 2.x ends the upstream stream, grpcio direct resets it.
    assertEquals(total, delta(before, after[0], "grpc_server_streams_released_total", "cause=\"peer_end_stream\"")
        + delta(before, after[0], "grpc_server_streams_released_total", "cause=\"peer_reset\""), after[0]);
    System.out.println("unified scrape after " + total + " aborted calls:\n"
        + grep(after[0], "grpc_server_aborts", "grpc_server_streams"));
    Files.writeString(dir.resolve("scrape.txt"), after[0]);
  }

  private static String grep(String scrape, String... prefixes) {
    StringBuilder out = new StringBuilder();
    for (String line : scrape.split("\n")) {
      for (String prefix : prefixes) {
        if (line.startsWith(prefix)) {
          out.append(line).append('\n');
          break;
        }
      }
    }
    return out.toString();
  }

  private static double delta(String before, String after, String name, String... labels) {
    return QuarkusApp.delta(before, after, name, labels);
  }
}
