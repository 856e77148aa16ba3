package dev.abortguard.sample.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.sample.Options.Transport;
import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.CoreClient.Shape;
import dev.abortguard.sample.e2e.ProxiedServer.Policy;
import dev.abortguard.sample.e2e.ProxiedServer.Route;
import dev.abortguard.sample.e2e.SampleServerProcess.Scrape;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The sample server's {@code armeria} transport (an Armeria server's {@code GrpcService}, the guard
 * installed with {@code AbortGuardArmeria.install}) end to end: the C-core client ({@code
 * abort_client.py}) makes {@value PolicyMatrix#CALLS} aborted Bidi calls per cell, direct and
 * through Debian's HAProxy 2.6, against stock Armeria ({@code -Dabortguard.enabled=false}) and the
 * guarded server ({@code deferred}, grace 2 s). Each policy has one server and one HAProxy for all
 * its cells.
 *
 * <p>Stock Armeria resets each stream with RST_STREAM(CANCEL) once request and response are both
 * complete, within a millisecond or so of the trailers, and a C-core client that reads it before it
 * has finalised the trailers reports CANCELLED, direct as well as through HAProxy. The guarded
 * server withholds that reset: no call ends CANCELLED, and every early-closed stream is released
 * once the client (or HAProxy) closes it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ArmeriaProxyIT {
  private static final int CALLS = PolicyMatrix.CALLS;
  private static final Shape SHAPE = Shape.BIDI;
  /** Stock Armeria's RST_STREAM(CANCEL), as grpcio reports it; direct or forwarded by HAProxy. */
  private static final String CANCELLED = "CANCELLED: Received RST_STREAM with error code 8";
  /** Runs of {@value PolicyMatrix#CALLS} calls each server gets before the cells: a warm JVM, as in service. */
  private static final int WARM_UP_RUNS = 2;
  private static final List<Policy> POLICIES = List.of(Policy.DISABLED, Policy.DEFERRED);

  @RegisterExtension final LogsOnFailure logs = new LogsOnFailure();

  private final Map<Policy, ProxiedServer> servers = new EnumMap<>(Policy.class);
  private CoreClient client;
  private final List<String> table = new ArrayList<>();

  @BeforeAll
  void startServersAndProxies(@TempDir Path dir) throws Exception {
    E2eTools.requireProxyTools();
    // Both JVMs start at once: an Armeria server takes a few seconds to come up.
    Map<Policy, CompletableFuture<ProxiedServer>> starting = new EnumMap<>(Policy.class);
    for (Policy policy : POLICIES) {
      starting.put(policy, CompletableFuture.supplyAsync(() -> {
        try {
          return ProxiedServer.start(policy, Transport.ARMERIA, dir.resolve(policy.name()));
        } catch (Exception e) {
          throw new CompletionException(e);
        }
      }));
    }
    try {
      for (Policy policy : POLICIES) {
        servers.put(policy, starting.get(policy).join());
      }
    } finally {
      // Whatever started is stopped in stopAndPrintTable, even if another failed.
      starting.forEach((policy, future) -> {
        if (!servers.containsKey(policy) && future.isDone() && !future.isCompletedExceptionally()) {
          servers.put(policy, future.join());
        }
      });
    }
    client = new CoreClient(dir.resolve("client"));
    for (ProxiedServer proxied : servers.values()) {
      warmUp(proxied);
    }
  }

  /** Aborted calls whose outcome is not counted, direct, so that the cells meet a warm JVM. */
  private void warmUp(ProxiedServer proxied) throws Exception {
    for (int run = 0; run < WARM_UP_RUNS; run++) {
      client.run(proxied.target(Route.DIRECT), SHAPE, Behaviour.KEEPS_SENDING, CALLS, PolicyMatrix.CONCURRENCY,
          PolicyMatrix.ABORT);
    }
    Scrape scrape = proxied.awaitMetrics(s -> s.value(PolicyMatrix.LINGERING) == 0, ProxiedServer.DRAIN_TIMEOUT);
    assertEquals(0.0, scrape.value(PolicyMatrix.LINGERING), "warm-up streams still lingering:\n" + scrape.guardLines());
  }

  @BeforeEach
  void clearLogs() {
    logs.clear();
  }

  @AfterAll
  void stopAndPrintTable() {
    if (!table.isEmpty()) {
      System.out.println("armeria transport, " + CALLS + " " + SHAPE.flag + " calls per cell, grpcio client:\n"
          + String.join("\n", table));
    }
    servers.values().forEach(ProxiedServer::close);
  }

  static Stream<Arguments> cells() {
    List<Arguments> cells = new ArrayList<>();
    for (Policy policy : POLICIES) {
      for (Behaviour behaviour : List.of(Behaviour.KEEPS_SENDING, Behaviour.NOTHING)) {
        for (Route route : Route.values()) {
          cells.add(Arguments.of(policy, behaviour, route));
        }
      }
    }
    return cells.stream();
  }

  @ParameterizedTest(name = "{0} {1} {2}")
  @MethodSource("cells")
  void abortedBidiCalls(Policy policy, Behaviour behaviour, Route route) throws Exception {
    ProxiedServer proxied = servers.get(policy);
    proxied.markLog();
    logs.watch(proxied::describeSinceMark);
    Scrape before = proxied.server().metrics();

    Result result = client.run(
        proxied.target(route), SHAPE, behaviour, CALLS, PolicyMatrix.CONCURRENCY, PolicyMatrix.ABORT);
    assertEquals(CALLS, result.calls(), result.toString());
    Scrape after = policy == Policy.DEFERRED ? awaitReleased(proxied, before) : proxied.server().metrics();
    double released = after.sum(PolicyMatrix.RELEASED) - before.sum(PolicyMatrix.RELEASED);
    table.add(String.format("| %s | %s | %s | %s | released +%d |",
        policy == Policy.DISABLED ? "stock" : "deferred", behaviour.flag(), route, result.statuses(), (long) released));

    if (policy == Policy.DEFERRED) {
      assertGuarded(result, after, released);
    } else {
      assertStock(route, result);
    }
  }

  /**
   * Every call ends with its real status, direct and through HAProxy; within the grace and a second
   * no stream lingers, and each call's stream was released once, because its peer closed it.
   */
  private static void assertGuarded(Result result, Scrape after, double released) {
    String context = result + "\nguard metrics now:\n" + after.guardLines();
    assertEquals(0, result.count("CANCELLED"), "the guarded Armeria server must not cause CANCELLED: " + context);
    assertEquals(Map.of(PolicyMatrix.REAL_STATUS, CALLS), result.messages(), context);
    assertEquals(0.0, after.value(PolicyMatrix.LINGERING),
        "streams still lingering " + ProxiedServer.DRAIN_TIMEOUT + " after the cell: " + context);
    assertEquals(CALLS, released, 0.0, "every call was early-closed and should be released once: " + context);
    double byPeer = after.value(PolicyMatrix.RELEASED + "{cause=\"peer_end_stream\"}")
        + after.value(PolicyMatrix.RELEASED + "{cause=\"peer_reset\"}");
    double byOther = after.sum(PolicyMatrix.RELEASED) - byPeer;
    assertEquals(0.0, byOther, "only the peer should have ended streams here (no grace expiry): " + context);
  }

  /**
   * Stock Armeria, with its RST_STREAM(CANCEL) after every trailers: the real status or that
   * CANCELLED, nothing else. Measured over seven runs (28 cells of 200 calls, warm server): 51-142
   * CANCELLED per cell, direct 68-141, through HAProxy 51-142; a cold server gave 29-51 direct. So
   * in every cell, direct included, at least a tenth must be CANCELLED (a loose bound: the share
   * depends on how soon after the trailers the reset goes out and on when grpcio reads it); the
   * guarded server's zero is the claim.
   */
  private static void assertStock(Route route, Result result) {
    for (String message : result.messages().keySet()) {
      assertTrue(message.equals(PolicyMatrix.REAL_STATUS) || message.equals(CANCELLED),
          "only the real status or the CANCEL expected: " + result);
    }
    int cancelled = result.count("CANCELLED");
    assertTrue(cancelled >= CALLS / 10,
        "stock Armeria should end many calls CANCELLED, even " + route + ": " + result);
  }

  /** Waits up to the grace and a second for {@value PolicyMatrix#CALLS} releases and no lingering stream. */
  private static Scrape awaitReleased(ProxiedServer proxied, Scrape before) throws Exception {
    double target = before.sum(PolicyMatrix.RELEASED) + CALLS;
    return proxied.awaitMetrics(
        scrape -> scrape.value(PolicyMatrix.LINGERING) == 0 && scrape.sum(PolicyMatrix.RELEASED) >= target,
        ProxiedServer.DRAIN_TIMEOUT);
  }
}
