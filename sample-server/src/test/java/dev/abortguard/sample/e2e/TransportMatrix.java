package dev.abortguard.sample.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
 * One sample server transport ({@code --transport}) end to end, stock against guarded: the C-core
 * client ({@code abort_client.py}) makes {@value PolicyMatrix#CALLS} aborted Bidi calls per cell,
 * keeping its side open (sending, or sending nothing), direct and through Debian's HAProxy 2.6,
 * against the stock server ({@code -Dabortguard.enabled=false}) and the guarded one ({@code
 * deferred}, grace 2 s). Each policy has one server and one HAProxy for all its cells; both are
 * warmed up first, direct, as a server in service would be. The table of outcomes is printed at the
 * end.
 *
 * <p>The guarded server's claim is the same on every transport and checked here ({@link
 * #assertGuarded}); what the stock server does is the transport's own ({@link #assertStock}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class TransportMatrix {
  static final int CALLS = PolicyMatrix.CALLS;
  static final Shape SHAPE = Shape.BIDI;
  /** A reset with CANCEL, the stock server's own or HAProxy's translation, as grpcio reports it. */
  static final String CANCELLED = PolicyMatrix.PROXY_CANCEL;
  private static final List<Policy> POLICIES = List.of(Policy.DISABLED, Policy.DEFERRED);

  @RegisterExtension final LogsOnFailure logs = new LogsOnFailure();

  private final Map<Policy, ProxiedServer> servers = new EnumMap<>(Policy.class);
  private CoreClient client;
  private final List<String> table = new ArrayList<>();

  /** The transport under test. */
  abstract Transport transport();

  /** The call shape of every cell: Bidi unless a transport's matrix runs another too. */
  Shape shape() {
    return SHAPE;
  }

  /** Runs of {@value PolicyMatrix#CALLS} calls each server gets before the cells. */
  abstract int warmUpRuns();

  /**
   * What the stock server's calls may end with in a cell: its baseline, loosely bounded, as
   * measured (the guarded server's zero CANCELLED is the claim).
   */
  abstract void assertStock(Behaviour behaviour, Route route, Result result);

  @BeforeAll
  void startServersAndProxies(@TempDir Path dir) throws Exception {
    E2eTools.requireProxyTools();
    // Both JVMs start at once: some transports (Armeria) take a few seconds to come up.
    Map<Policy, CompletableFuture<ProxiedServer>> starting = new EnumMap<>(Policy.class);
    for (Policy policy : POLICIES) {
      starting.put(policy, CompletableFuture.supplyAsync(() -> {
        try {
          return ProxiedServer.start(policy, transport(), dir.resolve(policy.name()));
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
    for (int run = 0; run < warmUpRuns(); run++) {
      client.run(proxied.target(Route.DIRECT), shape(), Behaviour.KEEPS_SENDING, CALLS, PolicyMatrix.CONCURRENCY,
          PolicyMatrix.ABORT);
    }
    // The cells count releases from here on: let the warm-up's streams go first.
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
      System.out.println(transport().flagValue() + " transport, " + CALLS + " " + shape().flag
          + " calls per cell, grpcio client:\n" + String.join("\n", table));
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
        proxied.target(route), shape(), behaviour, CALLS, PolicyMatrix.CONCURRENCY, PolicyMatrix.ABORT);
    assertEquals(CALLS, result.calls(), result.toString());
    Scrape after = policy == Policy.DEFERRED ? awaitReleased(proxied, before) : proxied.server().metrics();
    double released = after.sum(PolicyMatrix.RELEASED) - before.sum(PolicyMatrix.RELEASED);
    long notByPeer = (long) (released - releasedByPeer(before, after));
    table.add(String.format("| %s | %s | %s | %s | released +%d%s |",
        policy == Policy.DISABLED ? "stock" : "deferred", behaviour.flag(), route, result.statuses(), (long) released,
        notByPeer == 0 ? "" : " (" + notByPeer + " not by the peer)"));

    if (policy == Policy.DEFERRED) {
      assertGuarded(result, before, after);
    } else {
      assertEquals(0.0, released, "a disabled guard tracks nothing: " + result + "\n" + after.guardLines());
      assertStock(behaviour, route, result);
    }
  }

  /**
   * Every call ends with its real status, direct and through HAProxy; within the grace and a second
   * no stream lingers, and each call's stream was released once, because its peer closed it.
   */
  private void assertGuarded(Result result, Scrape before, Scrape after) {
    double released = after.sum(PolicyMatrix.RELEASED) - before.sum(PolicyMatrix.RELEASED);
    String context = result + "\nguard metrics now:\n" + after.guardLines();
    assertEquals(0, result.count("CANCELLED"),
        "the guarded " + transport().flagValue() + " server must not cause CANCELLED: " + context);
    assertEquals(Map.of(PolicyMatrix.REAL_STATUS, CALLS), result.messages(), context);
    assertEquals(0.0, after.value(PolicyMatrix.LINGERING),
        "streams still lingering " + ProxiedServer.DRAIN_TIMEOUT + " after the cell: " + context);
    assertEquals(CALLS, released, 0.0, "every call was early-closed and should be released once: " + context);
    double byOther = released - releasedByPeer(before, after);
    assertEquals(0.0, byOther, "only the peer should have ended this cell's streams (no grace expiry): " + context);
  }

  /** Streams released between two scrapes because the peer ended or reset them. */
  static double releasedByPeer(Scrape before, Scrape after) {
    double byPeer = 0;
    for (String cause : List.of("peer_end_stream", "peer_reset")) {
      String series = PolicyMatrix.RELEASED + "{cause=\"" + cause + "\"}";
      byPeer += after.value(series) - before.value(series);
    }
    return byPeer;
  }

  /** Waits up to the grace and a second for {@value PolicyMatrix#CALLS} releases and no lingering stream. */
  private static Scrape awaitReleased(ProxiedServer proxied, Scrape before) throws Exception {
    double target = before.sum(PolicyMatrix.RELEASED) + CALLS;
    return proxied.awaitMetrics(
        scrape -> scrape.value(PolicyMatrix.LINGERING) == 0 && scrape.sum(PolicyMatrix.RELEASED) >= target,
        ProxiedServer.DRAIN_TIMEOUT);
  }
}
