package dev.abortguard.spring.boot.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.sample.e2e.CoreClient;
import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.CoreClient.Shape;
import dev.abortguard.sample.e2e.E2eTools;
import dev.abortguard.sample.e2e.HaproxyProcess;
import dev.abortguard.spring.boot.AuthInterceptor;
import dev.abortguard.spring.boot.BootApp;
import dev.abortguard.spring.boot.Meters;
import dev.abortguard.testing.Await;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Spring Boot application behind Debian's HAProxy 2.6 (which turns a late server RST into
 * CANCEL), called by a C-core client (grpcio, {@code abort_client.py}): {@value #CALLS} bidi calls
 * per cell that the auth interceptor rejects with PERMISSION_DENIED while the client keeps sending.
 * Under {@code deferred} every status survives the proxy; {@code immediate} is the control that
 * shows the rig reproduces the bug.
 */
class HaproxyEndToEndTest {
  static final int CALLS = 200;
  static final int CONCURRENCY = 4;
  static final String REAL_STATUS = "PERMISSION_DENIED: " + AuthInterceptor.DESCRIPTION;

  @TempDir Path dir;

  @BeforeEach
  void requireTools() {
    E2eTools.requireProxyTools();
  }

  @Test
  void deferredKeepsEveryStatusThroughHaproxy() throws Exception {
    try (BootApp app = BootApp.start("--abortguard.reset=deferred",
            "--abortguard.reset.grace=2s");
        HaproxyProcess haproxy = HaproxyProcess.start(app.grpcPort(), dir)) {
      CoreClient client = new CoreClient(dir.resolve("client"));
      Result proxied = client.run(haproxy.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, CALLS, CONCURRENCY,
          "PERMISSION_DENIED");
      System.out.println("deferred, through HAProxy 2.6: " + proxied);
      assertEquals(Map.of(REAL_STATUS, CALLS), proxied.messages(), proxied + "\n" + haproxy.describe());

      // Every early-closed stream was released by the client closing its side; none lingers.
      MeterRegistry registry = app.meterRegistry();
      Await.until("every stream released", () -> released(registry) == CALLS
          && registry.get("grpc.server.streams.lingering").gauge().value() == 0, Duration.ofSeconds(5));
      Meters.awaitCount(registry, CALLS, "grpc.server.aborts", "statusCode", "PERMISSION_DENIED", "peer", "streaming",
          "response", "trailers_only");
      Meters.awaitCount(registry, CALLS, "grpc.server.aborts.mitigated", "mitigation", "reset_withheld");
      assertEquals(CALLS, Meters.count(registry, "grpc.server.streams.released", "cause", "peer_end_stream"),
          "grpcio half-closes after the trailers: every stream released by the client's END_STREAM");
    }
  }

  @Test
  void immediateLosesStatusesThroughHaproxyButNotDirect() throws Exception {
    try (BootApp app = BootApp.start("--abortguard.reset=immediate");
        HaproxyProcess haproxy = HaproxyProcess.start(app.grpcPort(), dir)) {
      CoreClient client = new CoreClient(dir.resolve("client"));
      Result direct = client.run("127.0.0.1:" + app.grpcPort(), Shape.BIDI, Behaviour.KEEPS_SENDING,
          CALLS, CONCURRENCY, "PERMISSION_DENIED");
      Result proxied = client.run(haproxy.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, CALLS, CONCURRENCY,
          "PERMISSION_DENIED");
      System.out.println("immediate, direct: " + direct + "\nimmediate, through HAProxy 2.6: " + proxied);
      assertEquals(Map.of(REAL_STATUS, CALLS), direct.messages(), direct.toString());
      assertTrue(proxied.count("CANCELLED") > CALLS / 2,
          "immediate through HAProxy 2.6 should reproduce the proxy bug for most calls: " + proxied + "\n"
              + haproxy.describe());
    }
  }

  private static double released(MeterRegistry registry) {
    return Meters.count(registry, "grpc.server.streams.released");
  }
}
