package dev.abortguard.sample.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.abortguard.sample.DemoAbortInterceptor;
import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.CoreClient.Shape;
import dev.abortguard.sample.e2e.ProxiedServer.Policy;
import dev.abortguard.sample.e2e.ProxiedServer.Route;
import dev.abortguard.sample.e2e.SampleServerProcess.Scrape;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * The end-to-end matrix for one policy: a C-core client (grpcio, {@code abort_client.py}) makes
 * {@value #CALLS} calls per cell that the sample server aborts with {@code PERMISSION_DENIED} at
 * once, for each call shape, client behaviour and route (direct, or through Debian's HAProxy
 * 2.6, which has the bug), and the test checks how they ended and that the server released every
 * early-closed stream. One server and one HAProxy serve all of a policy's cells.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class PolicyMatrix {
  /** Enough calls that a 1% failure rate shows. */
  static final int CALLS = 200;
  /** Modest: a stream that lingers counts against the server's concurrent-stream limit. */
  static final int CONCURRENCY = 4;
  static final String ABORT = "PERMISSION_DENIED";
  static final String REAL_STATUS = "PERMISSION_DENIED: " + DemoAbortInterceptor.DESCRIPTION;
  static final String PROXY_CANCEL = "CANCELLED: Received RST_STREAM with error code 8";
  static final String LINGERING = "grpc_server_streams_lingering";
  static final String RELEASED = "grpc_server_streams_released_total";

  @RegisterExtension final LogsOnFailure logs = new LogsOnFailure();

  private ProxiedServer proxied;
  private CoreClient client;
  private final List<String> table = new ArrayList<>();

  /** The policy under test. */
  abstract Policy policy();

  @BeforeAll
  void startServerAndProxy(@TempDir Path dir) throws Exception {
    E2eTools.requireProxyTools();
    proxied = ProxiedServer.start(policy(), dir);
    client = new CoreClient(dir.resolve("client"));
  }

  @BeforeEach
  void watchLogs() {
    proxied.markLog();
    logs.clear();
    logs.watch(proxied::describeSinceMark);
  }

  @AfterAll
  void stopAndPrintTable() throws Exception {
    if (!table.isEmpty()) {
      System.out.println("policy " + policy() + ", " + CALLS + " calls per cell, grpcio client:\n"
          + String.join("\n", table));
    }
    if (proxied != null) {
      proxied.close();
    }
  }

  static Stream<Arguments> cells() {
    List<Arguments> cells = new ArrayList<>();
    for (Behaviour behaviour : Behaviour.values()) {
      for (Shape shape : Shape.values()) {
        for (Route route : Route.values()) {
          cells.add(Arguments.of(shape, behaviour, route));
        }
      }
    }
    return cells.stream();
  }

  @ParameterizedTest(name = "{0} {1} {2}")
  @MethodSource("cells")
  void abortedCalls(Shape shape, Behaviour behaviour, Route route) throws Exception {
    Scrape before = proxied.server().metrics();
    Result result = client.run(proxied.target(route), shape, behaviour, CALLS, CONCURRENCY, ABORT);
    assertEquals(CALLS, result.calls(), result.toString());

    Scrape after = awaitReleased(before, behaviour);
    double released = after.sum(RELEASED) - before.sum(RELEASED);
    table.add(String.format("| %s | %s | %s | %s | %s | released +%d |", policy(), shape.flag, behaviour.flag(),
        route, result.statuses(), (long) released));

    assertStatuses(shape, behaviour, route, result);
    assertReleased(behaviour, before, after, result);
  }

  /**
   * Every call ends with the server's real status or, through HAProxy under {@code immediate}, with
   * the CANCEL HAProxy turned the server's reset into; nothing else (no deadline, no UNAVAILABLE).
   */
  private void assertStatuses(Shape shape, Behaviour behaviour, Route route, Result result) {
    Set<String> allowed = Set.of(REAL_STATUS, PROXY_CANCEL);
    assertTrue(allowed.containsAll(result.messages().keySet()),
        "only '" + REAL_STATUS + "' or the proxy's CANCEL expected: " + result);
    boolean bugPossible = policy() == Policy.IMMEDIATE && route == Route.HAPROXY;
    if (!bugPossible) {
      assertEquals(Map.of(REAL_STATUS, CALLS), result.messages(),
          "every call should end with the real status (" + policy() + ", " + route + "): " + result);
      return;
    }
    if (behaviour.leavesStreamOpen()) {
      // The rig must see the bug, or it proves nothing: trailers + RST(NO_ERROR) in one flush
      // becomes RST(CANCEL) at the client. Measured: every call, for all three behaviours.
      assertTrue(result.count("CANCELLED") > CALLS / 2,
          "immediate through HAProxy should reproduce the proxy bug for most calls (" + shape.flag + ", "
              + behaviour.flag() + "): " + result);
    }
    // half-close: only the calls whose END_STREAM reached the server after its trailers were
    // early-closed and reset; measured 10-55% CANCELLED, varying run to run. Nothing to assert
    // beyond the allowed statuses.
  }

  /**
   * Within the grace and a second, no stream lingers and the released counter went up by the number
   * of early-closed streams: every call when the client kept its side open; for half-close, only
   * those whose END_STREAM lost the race with the server's trailers (the grpcio client sends it
   * apart from the request headers), anywhere from none to all.
   */
  private void assertReleased(Behaviour behaviour, Scrape before, Scrape after, Result result) {
    double released = after.sum(RELEASED) - before.sum(RELEASED);
    String context = result + "\nguard metrics now:\n" + after.guardLines();
    assertEquals(0.0, after.value(LINGERING), "streams still lingering " + ProxiedServer.DRAIN_TIMEOUT
        + " after the cell: " + context);
    if (policy() == Policy.DISABLED) {
      assertEquals(0.0, released, "a disabled guard tracks nothing: " + context);
      return;
    }
    if (behaviour.leavesStreamOpen()) {
      assertEquals(CALLS, released, 0.0, "every call was early-closed and should be released once: " + context);
    } else if (released < 0 || released > CALLS) {
      fail("released went up by " + released + ", not 0 to " + CALLS + ": " + context);
    }
    double byCause = 0;
    for (String cause : causesFor(policy())) {
      byCause += delta(before, after, RELEASED + "{cause=\"" + cause + "\"}");
    }
    assertEquals(released, byCause, 0.0, policy() + " should release only by " + causesFor(policy())
        + " here (real clients close their side; no grace should expire): " + context);
  }

  /**
   * The causes a release may have in these cells: the peer ending the stream, resetting it or
   * closing the connection under it, or the immediate reset. The last of the peer's: through
   * HAProxy, a half-closing client's END_STREAM that crosses the server's trailers may never be
   * forwarded, and its stream goes when HAProxy closes that backend connection (seen on a loaded
   * machine: 3 of 89 early-closed streams). Never by the guard's own limits or a grace.
   */
  private static List<String> causesFor(Policy policy) {
    return policy == Policy.IMMEDIATE
        ? List.of("immediate")
        : List.of("peer_end_stream", "peer_reset", "connection_closed");
  }

  private Scrape awaitReleased(Scrape before, Behaviour behaviour) throws Exception {
    boolean exact = policy() != Policy.DISABLED && behaviour.leavesStreamOpen();
    double target = before.sum(RELEASED) + (exact ? CALLS : 0);
    return proxied.awaitMetrics(
        scrape -> scrape.value(LINGERING) == 0 && (!exact || scrape.sum(RELEASED) >= target),
        ProxiedServer.DRAIN_TIMEOUT);
  }

  private static double delta(Scrape before, Scrape after, String series) {
    return after.value(series) - before.value(series);
  }
}
