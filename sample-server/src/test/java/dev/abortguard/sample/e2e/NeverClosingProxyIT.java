package dev.abortguard.sample.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.CoreClient.Shape;
import dev.abortguard.sample.e2e.SampleServerProcess.Scrape;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Behind nghttpx, which never ends or resets an upstream stream after the backend's early
 * trailers, every aborted call lingers on the server, and a peer counts lingering streams against
 * the server's MAX_CONCURRENT_STREAMS (100 here, on every transport). {@value #CALLS} aborted
 * grpcio calls per cell through nghttpx: under {@code deferred} every one ends PERMISSION_DENIED,
 * at the rate {@code immediate} reaches in the same test, because the guard resets the eldest
 * lingering stream ({@code stream_limit}) whenever nghttpx runs out of slots; without that, calls
 * queue in nghttpx for a grace period per hundred.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NeverClosingProxyIT {
  static final int CALLS = 1000;
  static final int CONCURRENCY = 8;
  static final int WARM_UP_CALLS = 300;
  static final String LIMIT = "100";
  static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(10);

  private CoreClient client;
  private Path dir;
  private final List<String> table = new ArrayList<>();

  @BeforeAll
  void requireTools(@TempDir Path dir) {
    E2eTools.requireProxyTools();
    E2eTools.requireNghttpx();
    this.dir = dir;
    client = new CoreClient(dir.resolve("client"));
  }

  @AfterAll
  void printTable() {
    if (!table.isEmpty()) {
      System.out.println(CALLS + " aborted bidi calls through nghttpx (never ends upstream streams), "
          + "MAX_CONCURRENT_STREAMS " + LIMIT + ", grpcio, concurrency " + CONCURRENCY + ":\n"
          + String.join("\n", table));
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"grpc", "frame-codec", "okhttp"})
  void deferredKeepsEveryStatusAtTheRateOfImmediate(String transport) throws Exception {
    Cell deferred = run(transport, "deferred");
    Cell immediate = run(transport, "immediate");
    double ratio = deferred.callsPerSecond() / immediate.callsPerSecond();
    table.add(String.format("%-11s deferred: %s (%.0f calls/s, stream_limit %.0f); immediate: %s (%.0f calls/s);"
            + " deferred/immediate %.2f", transport, deferred.result.messages(), deferred.callsPerSecond(),
        deferred.streamLimitReleases, immediate.result.messages(), immediate.callsPerSecond(), ratio));

    assertTrue(deferred.streamLimitReleases > 0,
        "nghttpx held more streams than the limit; the guard must have freed slots: " + deferred.scrape.guardLines());
    // Measured 0.95-1.05; the bound only catches calls queueing behind the grace (about 0.05).
    assertTrue(ratio > 0.5, String.format("deferred %.0f calls/s against immediate %.0f",
        deferred.callsPerSecond(), immediate.callsPerSecond()));
    assertEquals(CALLS, deferred.result.count("PERMISSION_DENIED"),
        transport + " deferred: " + deferred.result + "\nguard metrics:\n" + deferred.scrape.guardLines());
  }

  private Cell run(String transport, String policy) throws Exception {
    Path cellDir = dir.resolve(transport + "-" + policy);
    try (SampleServerProcess server = SampleServerProcess.start(
            Map.of("abortguard.reset", policy, "abortguard.reset.grace", "2s"),
            List.of("--transport", transport, "--max-concurrent-streams", LIMIT), cellDir.resolve("server"));
        NghttpxProcess nghttpx = NghttpxProcess.start(server.port(), cellDir.resolve("nghttpx"))) {
      client.run(nghttpx.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, WARM_UP_CALLS, CONCURRENCY,
          PolicyMatrix.ABORT);
      Result result = client.run(nghttpx.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, CALLS, CONCURRENCY,
          PolicyMatrix.ABORT);
      // Whatever nghttpx keeps open goes with the grace (2 s): nothing is left behind.
      Scrape scrape = awaitNoneLingering(server);
      assertEquals(0.0, scrape.value(PolicyMatrix.LINGERING),
          "still lingering after " + DRAIN_TIMEOUT + ":\n" + scrape.guardLines() + "\n" + nghttpx.describe());
      return new Cell(result, scrape, scrape.value("grpc_server_streams_released_total{cause=\"stream_limit\"}"));
    }
  }

  private static Scrape awaitNoneLingering(SampleServerProcess server) throws Exception {
    long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
    Scrape scrape = server.metrics();
    while (scrape.value(PolicyMatrix.LINGERING) != 0 && System.nanoTime() < deadline) {
      Thread.sleep(100);
      scrape = server.metrics();
    }
    return scrape;
  }

  record Cell(Result result, Scrape scrape, double streamLimitReleases) {
    double callsPerSecond() {
      return result.calls() / result.elapsedSeconds();
    }
  }
}
