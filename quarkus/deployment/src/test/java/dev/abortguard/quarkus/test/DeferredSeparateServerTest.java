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

/**
 * A Quarkus application on quarkus-grpc's separate grpc-java server (the 3.x default), with
 * abortguard-quarkus, quarkus-micrometer's Prometheus registry, an application {@code
 * @GlobalInterceptor} and {@code quarkus.grpc.server.max-inbound-message-size}, all on random
 * ports. One application for the wire, the C-core client through HAProxy 2.6, Quarkus's own gRPC
 * setting and the scrape.
 */
class DeferredSeparateServerTest {
  static final Duration GRACE = Duration.ofMillis(600);
  static final int CALLS = 200;
  static final int CONCURRENCY = 4;
  static final String REAL_STATUS = "PERMISSION_DENIED: " + AuthInterceptor.DESCRIPTION;

  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class, QuarkusApp.class))
      .overrideConfigKey("quarkus.grpc.server.test-port", "0")
      .overrideConfigKey("quarkus.grpc.server.host", "127.0.0.1")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("quarkus.grpc.server.max-inbound-message-size", "1000")
      // The e2e harness's -Dabortguard.e2e.scripts is not an abortguard-quarkus setting.
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .overrideConfigKey("abortguard.reset", "deferred")
      .overrideConfigKey("abortguard.reset.grace", "600ms")
      .overrideConfigKey("abortguard.lingering.max", "64")
      .overrideConfigKey("abortguard.lingering.maxTotal", "500");

  @Inject AbortGuard guard;

  @Test
  void settingsComeFromApplicationProperties() {
    assertEquals(ResetPolicy.DEFERRED, guard.config().reset());
    assertEquals(GRACE, guard.config().resetGrace());
    assertEquals(64, guard.config().lingeringMax());
    assertEquals(500, guard.config().lingeringMaxTotal());
    assertTrue(guard.config().trailersOnly());
  }

  @Test
  void deferredWithholdsTheResetUntilTheGraceRunsOut() {
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", QuarkusApp.grpcPort())) {
      Frame trailers = QuarkusApp.abortedBidi(client);
      client.assertNoFrame(f -> QuarkusApp.isReset(f, trailers.streamId()), GRACE.dividedBy(2));
      Frame reset = client.awaitFrame(f -> QuarkusApp.isReset(f, trailers.streamId()), QuarkusApp.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
      long after = reset.receivedNanos() - trailers.receivedNanos();
      assertTrue(after >= GRACE.minusMillis(50).toNanos(),
          "the reset came " + after / 1_000_000 + " ms after the trailers:\n" + client.describeFrames());
    }
  }

  @Test
  void maxInboundMessageSizeStillApplies() throws Exception {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", QuarkusApp.grpcPort()).usePlaintext().build();
    try {
      byte[] small = new byte[100];
      assertEquals(100, ClientCalls.blockingUnaryCall(channel, DemoService.UNARY, CallOptions.DEFAULT, small).length);
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> ClientCalls.blockingUnaryCall(channel, DemoService.UNARY, CallOptions.DEFAULT, new byte[2000]));
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.toString());
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void everyStatusSurvivesHaproxyAndTheScrapeCountsThem(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    E2eTools.requireProxyTools();
    String before = QuarkusApp.scrape();
    try (HaproxyProcess haproxy = HaproxyProcess.start(QuarkusApp.grpcPort(), dir)) {
      CoreClient client = new CoreClient(dir.resolve("client"));
      Result direct = client.run("127.0.0.1:" + QuarkusApp.grpcPort(), Shape.BIDI, Behaviour.KEEPS_SENDING, CALLS,
          CONCURRENCY, "PERMISSION_DENIED");
      System.out.println("Quarkus separate server, deferred, BIDI direct: " + direct);
      assertEquals(Map.of(REAL_STATUS, CALLS), direct.messages(), direct.toString());
      for (Shape shape : Shape.values()) {
        Result proxied = client.run(haproxy.target(), shape, Behaviour.KEEPS_SENDING, CALLS, CONCURRENCY,
            "PERMISSION_DENIED");
        System.out.println("Quarkus separate server, deferred, " + shape + " through HAProxy 2.6: " + proxied);
        assertEquals(Map.of(REAL_STATUS, CALLS), proxied.messages(), proxied + "\n" + haproxy.describe());
      }
    }
    int total = CALLS * (Shape.values().length + 1);
    String[] after = new String[1];
    Await.until("the scrape counts every abort and release", () -> {
      after[0] = QuarkusApp.scrape();
      return delta(before, after[0], "grpc_server_streams_released_total") >= total
          && QuarkusApp.sample(after[0], "grpc_server_streams_lingering") == 0;
    }, Duration.ofSeconds(10));
    assertEquals(total, delta(before, after[0], "grpc_server_aborts_total", "statusCode=\"PERMISSION_DENIED\"",
        "peer=\"streaming\"", "response=\"trailers_only\""), after[0]);
    assertEquals(total, delta(before, after[0], "grpc_server_aborts_mitigated_total",
        "mitigation=\"reset_withheld\""), after[0]);
    // Every stream released by its peer: HAProxy 2.x ends the upstream stream, grpcio direct resets it.
    assertEquals(total, delta(before, after[0], "grpc_server_streams_released_total", "cause=\"peer_end_stream\"")
        + delta(before, after[0], "grpc_server_streams_released_total", "cause=\"peer_reset\""), after[0]);
    System.out.println("scrape after " + total + " aborted calls:\n" + grep(after[0], "grpc_server_aborts", "grpc_server_streams"));
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
    return QuarkusApp.sample(after, name, labels) - QuarkusApp.sample(before, name, labels);
  }
}
