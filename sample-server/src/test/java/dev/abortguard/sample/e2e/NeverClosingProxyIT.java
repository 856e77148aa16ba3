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
 * grpcio calls per cell through nghttpx: under {@code deferred} every one ends PERMISSION_DENIED
 * because the guard resets the eldest lingering stream ({@code stream_limit}) whenever nghttpx runs
 * out of slots; without that, calls queue in nghttpx until a grace runs out.
 *
 * <p>The grace here ({@value #GRACE}) is longer than the client's per-call deadline (10 s), so a
 * call that waited for a grace ends DEADLINE_EXCEEDED and the test fails on statuses and counts,
 * not on timing. The rate against {@code immediate} is printed as a measurement, never asserted.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NeverClosingProxyIT {
  static final int CALLS = 1000;
  static final int CONCURRENCY = 8;
  static final int WARM_UP_CALLS = 300;
  static final String LIMIT = "100";
  static final String GRACE = "60s";
  static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(10);
  static final String STREAM_LIMIT = "grpc_server_streams_released_total{cause=\"stream_limit\"}";
  static final String GRACE_EXPIRED = "grpc_server_streams_released_total{cause=\"grace_expired\"}";

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
  @ValueSource(strings = {"grpc", "frame-codec", "okhttp", "vertx"})
  void deferredKeepsEveryStatusAtTheRateOfImmediate(String transport) throws Exception {
    Cell deferred = run(transport, "deferred");
    Cell immediate = run(transport, "immediate");
    double ratio = deferred.callsPerSecond() / immediate.callsPerSecond();
    table.add(String.format("%-11s deferred: %s (%.0f calls/s, stream_limit %.0f); immediate: %s (%.0f calls/s);"
            + " deferred/immediate %.2f", transport, deferred.result.messages(), deferred.callsPerSecond(),
        deferred.streamLimitReleases(), immediate.result.messages(), immediate.callsPerSecond(), ratio));

    assertEquals(CALLS, deferred.result.count("PERMISSION_DENIED"),
        transport + " deferred: " + deferred.result + "\nguard metrics:\n" + deferred.scrape.guardLines());
    assertTrue(deferred.streamLimitReleases() > 0,
        "nghttpx held more streams than the limit; the guard must have freed slots: " + deferred.scrape.guardLines());
    assertEquals(WARM_UP_CALLS + CALLS,
        deferred.scrape.sum("grpc_server_streams_released_total") + deferred.scrape.value(PolicyMatrix.LINGERING),
        "every aborted stream is released or still lingering:\n" + deferred.scrape.guardLines());
    assertEquals(0.0, deferred.scrape.value(GRACE_EXPIRED),
        "no stream may wait for the " + GRACE + " grace:\n" + deferred.scrape.guardLines());
    assertEquals(CALLS, immediate.result.count("PERMISSION_DENIED") + immediate.result.count("INTERNAL"),
        transport + " immediate: " + immediate.result);
  }

  private Cell run(String transport, String policy) throws Exception {
    Path cellDir = dir.resolve(transport + "-" + policy);
    try (SampleServerProcess server = SampleServerProcess.start(
            Map.of("abortguard.reset", policy, "abortguard.reset.grace", GRACE),
            List.of("--transport", transport, "--max-concurrent-streams", LIMIT), cellDir.resolve("server"))) {
      Result result;
      Scrape scrape;
      try (NghttpxProcess nghttpx = NghttpxProcess.start(server.port(), cellDir.resolve("nghttpx"))) {
        client.run(nghttpx.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, WARM_UP_CALLS, CONCURRENCY,
            PolicyMatrix.ABORT);
        result = client.run(nghttpx.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, CALLS, CONCURRENCY,
            PolicyMatrix.ABORT);
        scrape = server.metrics();
      }
      // What nghttpx kept open goes with its connection: nothing is left behind.
      Scrape drained = awaitNoneLingering(server);
      assertEquals(0.0, drained.value(PolicyMatrix.LINGERING),
          "still lingering " + DRAIN_TIMEOUT + " after nghttpx stopped:\n" + drained.guardLines());
      return new Cell(result, scrape);
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

  record Cell(Result result, Scrape scrape) {
    double streamLimitReleases() {
      return scrape.value(STREAM_LIMIT);
    }

    double callsPerSecond() {
      return result.calls() / result.elapsedSeconds();
    }
  }
}
