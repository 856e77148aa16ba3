package dev.abortguard.sample.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.sample.DemoAbortInterceptor;
import dev.abortguard.sample.e2e.ProxiedServer.Policy;
import dev.abortguard.sample.e2e.ProxiedServer.Route;
import dev.abortguard.sample.e2e.SampleServerProcess.Scrape;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The residual case under {@code deferred}: a raw HTTP/2 peer ({@code passive_h2_client.py}) that
 * sends request headers and then never closes its side. It gets the trailers-only response with the
 * real status at once; after the grace the guard resets the stream with NO_ERROR, which HAProxy 2.6
 * passes on as RST_STREAM(CANCEL). The status was delivered first, so a client that reads frames in
 * order has it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PassivePeerIT {
  private static final int NO_ERROR = 0;
  private static final int CANCEL = 8;
  /** Timers may fire a little early or late by their tick; well inside these bounds. */
  private static final Duration EARLIEST_RESET = ProxiedServer.GRACE.minusMillis(200);
  private static final Duration LATEST_RESET = ProxiedServer.GRACE.plusMillis(1500);
  private static final Set<String> STREAM_EVENTS = Set.of("headers", "data", "rst_stream");

  @RegisterExtension final LogsOnFailure logs = new LogsOnFailure();
  private Path dir;
  private ProxiedServer proxied;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    E2eTools.requireProxyTools();
    this.dir = dir;
    proxied = ProxiedServer.start(Policy.DEFERRED, transport(), dir);
  }

  /** The sample server's transport under test. */
  dev.abortguard.sample.Options.Transport transport() {
    return dev.abortguard.sample.Options.Transport.GRPC;
  }

  @BeforeEach
  void watchLogs() {
    proxied.markLog();
    logs.clear();
    logs.watch(proxied::describeSinceMark);
  }

  @AfterAll
  void stop() throws Exception {
    if (proxied != null) {
      proxied.close();
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Route.class)
  void passivePeerGetsTheStatusThenAResetAfterTheGrace(Route route) throws Exception {
    Scrape before = proxied.server().metrics();
    List<Map<String, Object>> events = PassiveH2Client.run(
        proxied.target(route), LATEST_RESET.plusSeconds(3), dir.resolve("passive-" + route));
    String trace = "events:\n" + String.join("\n", events.stream().map(Object::toString).toList());
    System.out.println("passive HTTP/2 peer, deferred, " + route + ":\n" + trace);

    List<Map<String, Object>> stream = events.stream()
        .filter(e -> STREAM_EVENTS.contains(e.get("event")))
        .filter(e -> e.get("stream_id") != null && ((Number) e.get("stream_id")).intValue() == 1)
        .toList();
    assertEquals(2, stream.size(), "the stream should see exactly trailers then a reset; " + trace);

    Map<String, Object> trailers = stream.get(0);
    assertEquals("headers", trailers.get("event"), trace);
    assertEquals(Boolean.TRUE, trailers.get("end_stream"), "a trailers-only response ends the stream; " + trace);
    @SuppressWarnings("unchecked")
    Map<String, Object> headers = (Map<String, Object>) trailers.get("headers");
    assertEquals("200", headers.get(":status"), trace);
    assertEquals("7", headers.get("grpc-status"), "PERMISSION_DENIED is 7; " + trace);
    assertEquals(DemoAbortInterceptor.DESCRIPTION, headers.get("grpc-message"), trace);

    Map<String, Object> reset = stream.get(1);
    assertEquals("rst_stream", reset.get("event"), trace);
    // The guard resets with NO_ERROR; HAProxy before 3.2 forwards any server reset as CANCEL.
    int expectedCode = route == Route.DIRECT ? NO_ERROR : CANCEL;
    assertEquals(expectedCode, ((Number) reset.get("error_code")).intValue(), trace);
    double afterTrailers = seconds(reset) - seconds(trailers);
    assertTrue(afterTrailers >= EARLIEST_RESET.toMillis() / 1000.0 && afterTrailers <= LATEST_RESET.toMillis() / 1000.0,
        "the reset should come about the grace (" + ProxiedServer.GRACE + ") after the trailers, not "
            + afterTrailers + " s; " + trace);
    assertEquals("stream_reset", events.get(events.size() - 1).get("reason"), trace);

    Scrape after = proxied.awaitMetrics(
        s -> s.value("grpc_server_streams_lingering") == 0
            && delta(before, s, "grace_expired") >= 1, ProxiedServer.DRAIN_TIMEOUT);
    String metrics = "guard metrics:\n" + after.guardLines();
    assertEquals(1.0, delta(before, after, "grace_expired"), "one stream released by the grace; " + metrics);
    assertEquals(0.0, after.value("grpc_server_streams_lingering"), metrics);
  }

  private static double delta(Scrape before, Scrape after, String cause) {
    String series = "grpc_server_streams_released_total{cause=\"" + cause + "\"}";
    return after.value(series) - before.value(series);
  }

  private static double seconds(Map<String, Object> event) {
    return ((Number) event.get("t")).doubleValue();
  }
}
