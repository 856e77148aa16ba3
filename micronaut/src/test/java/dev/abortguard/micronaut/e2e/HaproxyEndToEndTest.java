package dev.abortguard.micronaut.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.micronaut.AuthInterceptor;
import dev.abortguard.micronaut.MicronautApp;
import dev.abortguard.sample.e2e.CoreClient;
import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.CoreClient.Shape;
import dev.abortguard.sample.e2e.E2eTools;
import dev.abortguard.sample.e2e.HaproxyProcess;
import dev.abortguard.testing.Await;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Micronaut application behind Debian's HAProxy 2.6 (which turns a late server RST into CANCEL),
 * called by a C-core client (grpcio, {@code abort_client.py}): {@value #CALLS} calls per cell that the
 * {@link AuthInterceptor} bean rejects with PERMISSION_DENIED while the client keeps sending, bidi
 * and client-streaming. Under the default policy every status survives the proxy; {@code immediate}
 * is the control that shows the rig reproduces the bug.
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

  @ParameterizedTest
  @EnumSource(Shape.class)
  void defaultPolicyKeepsEveryStatusThroughHaproxy(Shape shape) throws Exception {
    try (MicronautApp app = MicronautApp.start();
        HaproxyProcess haproxy = HaproxyProcess.start(app.grpcPort(), dir)) {
      CoreClient client = new CoreClient(dir.resolve("client"));
      Result proxied = client.run(haproxy.target(), shape, Behaviour.KEEPS_SENDING, CALLS, CONCURRENCY,
          "PERMISSION_DENIED");
      System.out.println("Micronaut, deferred, " + shape + ", through HAProxy 2.6: " + proxied);
      assertEquals(Map.of(REAL_STATUS, CALLS), proxied.messages(), proxied + "\n" + haproxy.describe());

      // Every early-closed stream was released by the proxy ending its side; none lingers.
      Await.until("every stream released", () -> app.releasedTotal() == CALLS && app.lingering() == 0,
          Duration.ofSeconds(5));
      assertEquals(CALLS, app.abortsReaching(CALLS, "statusCode", "PERMISSION_DENIED", "peer", "streaming",
          "response", "trailers_only"));
      assertEquals(CALLS, app.mitigatedReaching(CALLS, "mitigation", "reset_withheld"));
      assertEquals(CALLS, app.released(ReleaseCause.PEER_END_STREAM, CALLS));
    }
  }

  @Test
  void immediateLosesStatusesThroughHaproxyButNotDirect() throws Exception {
    try (MicronautApp app = MicronautApp.start("abortguard.reset", "immediate");
        HaproxyProcess haproxy = HaproxyProcess.start(app.grpcPort(), dir)) {
      CoreClient client = new CoreClient(dir.resolve("client"));
      Result direct = client.run("127.0.0.1:" + app.grpcPort(), Shape.BIDI, Behaviour.KEEPS_SENDING,
          CALLS, CONCURRENCY, "PERMISSION_DENIED");
      Result proxied = client.run(haproxy.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, CALLS, CONCURRENCY,
          "PERMISSION_DENIED");
      System.out.println("Micronaut, immediate, direct: " + direct + "\nMicronaut, immediate, through HAProxy 2.6: "
          + proxied);
      assertEquals(Map.of(REAL_STATUS, CALLS), direct.messages(), direct.toString());
      assertTrue(proxied.count("CANCELLED") > CALLS / 2,
          "immediate through HAProxy 2.6 should reproduce the proxy bug for most calls: " + proxied + "\n"
              + haproxy.describe());
    }
  }

  /** Stock Micronaut (guard disabled), for the docs' table: grpc-java sends no reset, so statuses survive too. */
  @ParameterizedTest
  @EnumSource(Shape.class)
  void stockMicronautThroughHaproxy(Shape shape) throws Exception {
    try (MicronautApp app = MicronautApp.start("abortguard.enabled", "false");
        HaproxyProcess haproxy = HaproxyProcess.start(app.grpcPort(), dir)) {
      CoreClient client = new CoreClient(dir.resolve("client"));
      Result proxied = client.run(haproxy.target(), shape, Behaviour.KEEPS_SENDING, CALLS, CONCURRENCY,
          "PERMISSION_DENIED");
      System.out.println("Micronaut, stock, " + shape + ", through HAProxy 2.6: " + proxied);
      assertEquals(Map.of(REAL_STATUS, CALLS), proxied.messages(), proxied + "\n" + haproxy.describe());
    }
  }
}
