package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.sample.e2e.E2eTools;
import dev.abortguard.sample.e2e.HaproxyProcess;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code check} against each {@code serve --behaviour}, directly and through Debian's HAProxy 2.6,
 * all as real processes on 127.0.0.1: the verdicts of the table, and the frames behind them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReferenceBehavioursIT {
  private static final String CALLS = "5";

  private Path dir;
  private ServeProcess ccore;
  private ServeProcess netty;
  private ServeProcess grpcJava;

  @BeforeAll
  void startBackends(@TempDir Path dir) throws Exception {
    this.dir = dir;
    ccore = ServeProcess.start(dir, "--behaviour", "ccore");
    netty = ServeProcess.start(dir, "--behaviour", "netty");
    grpcJava = ServeProcess.start(dir, "--behaviour", "grpc-java");
  }

  @AfterAll
  void stopBackends() {
    for (ServeProcess serve : new ServeProcess[] {ccore, netty, grpcJava}) {
      if (serve != null) {
        serve.close();
        assertFalse(serve.stderr().contains("LEAK:"), serve.stderr());
      }
    }
  }

  @Test
  void ccoreDirectKeepsStatuses() throws Exception {
    CheckRun run = CheckRun.check(dir, ccore.target(), "--calls", CALLS, "--json").assertExit(0);
    assertEquals("keeps_statuses", run.json().get("verdict"), run::toString);
    for (Map<String, Object> call : run.calls()) {
      assertStatus(call, run);
      assertEquals("rst_stream", call.get("followed_by"), run::toString);
      assertEquals(0L, call.get("rst_code"), run::toString);
      // One flush on loopback: the trailers and the reset arrive in one read.
      assertEquals(Boolean.TRUE, call.get("rst_same_read"), run::toString);
      assertEquals(Boolean.FALSE, call.get("status_lost"), run::toString);
    }
  }

  @Test
  void ccoreThroughHaproxyLosesStatuses() throws Exception {
    E2eTools.requireHaproxy();
    try (HaproxyProcess haproxy = HaproxyProcess.start(ccore.port, dir)) {
      CheckRun run = CheckRun.check(dir, haproxy.target(), "--calls", CALLS, "--json");
      String context = run + "\n" + haproxy.describe();
      assertEquals(1, run.exitCode, context);
      assertEquals("loses_statuses", run.json().get("verdict"), context);
      for (Map<String, Object> call : run.calls()) {
        assertStatus(call, run);
        // HAProxy 2.6 forwards the trailers, then turns the backend's NO_ERROR into CANCEL.
        assertEquals(8L, call.get("rst_code"), context);
        assertEquals("CANCEL", call.get("rst_code_name"), context);
        assertEquals(Boolean.TRUE, call.get("status_lost"), context);
      }
      run.assertExit(1);
    }
  }

  @Test
  void nettyDirectLosesStatuses() throws Exception {
    CheckRun run = CheckRun.check(dir, netty.target(), "--calls", CALLS, "--json").assertExit(1);
    assertEquals("loses_statuses", run.json().get("verdict"), run::toString);
    for (Map<String, Object> call : run.calls()) {
      assertStatus(call, run);
      assertEquals(8L, call.get("rst_code"), run::toString);
      List<String> received = receivedFrames(call);
      assertEquals(List.of("HEADERS+END_STREAM", "RST_STREAM"), received.subList(0, 2), run::toString);
    }
  }

  @Test
  void grpcJavaDirectKeepsStatuses() throws Exception {
    CheckRun run = CheckRun.check(dir, grpcJava.target(), "--calls", CALLS, "--json").assertExit(0);
    assertNothingFollows(run);
  }

  @Test
  void grpcJavaThroughHaproxyKeepsStatuses() throws Exception {
    E2eTools.requireHaproxy();
    try (HaproxyProcess haproxy = HaproxyProcess.start(grpcJava.port, dir)) {
      CheckRun run = CheckRun.check(dir, haproxy.target(), "--calls", CALLS, "--json");
      assertEquals(0, run.exitCode, () -> run + "\n" + haproxy.describe());
      assertNothingFollows(run);
    }
  }

  @Test
  void tableForPeople() throws Exception {
    CheckRun run = CheckRun.check(dir, netty.target(), "--calls", "2").assertExit(1);
    assertTrue(run.stdout.contains("verdict: LOSES STATUSES for C-core clients (exit 1)"), run::toString);
    assertTrue(run.stdout.lines().anyMatch(line -> line.matches(
        "\\s+1\\s+1\\s+PERMISSION_DENIED \\(7\\)\\s+trailers-only\\s+[0-9.]+ ms\\s+RST_STREAM\\(CANCEL\\)\\s+[0-9.]+ ms\\s+(yes|no)")),
        run::toString);
    assertTrue(run.stderr.isEmpty(), run::toString);
  }

  @Test
  void longCheckShowsProgressOnStderr() throws Exception {
    // grpc-java sends nothing after the status, so each call is watched for the whole --wait:
    // 12 calls take at least 1.2 s, past the second after which progress starts.
    CheckRun run = CheckRun.check(dir, grpcJava.target(), "--calls", "12", "--wait", "100ms").assertExit(0);
    List<String> lines = run.stderr.lines().collect(Collectors.toList());
    assertTrue(lines.contains("call 12/12: PERMISSION_DENIED (7), then nothing"), run::toString);
    for (String line : lines) {
      assertTrue(line.matches("call ([1-9]|1[0-2])/12: PERMISSION_DENIED \\(7\\), then nothing"), run::toString);
    }
    // Stdout is the table, untouched.
    assertTrue(run.stdout.startsWith("abortguard-probe check " + grpcJava.target() + " (h2c)"), run::toString);
    assertTrue(run.stdout.contains("verdict: KEEPS STATUSES (exit 0)"), run::toString);
  }

  @Test
  void jsonSchemaIsStable() throws Exception {
    CheckRun run = CheckRun.check(dir, grpcJava.target(), "--calls", "1", "--json").assertExit(0);
    Map<String, Object> json = run.json();
    assertEquals(List.of("schema", "target", "tls", "authority", "path", "calls_requested", "wait_ms", "verdict",
        "exit_code", "message", "summary", "calls"), List.copyOf(json.keySet()), run::toString);
    assertEquals("abortguard-probe/check/v1", json.get("schema"));
    assertEquals(grpcJava.target(), json.get("target"));
    assertEquals(false, json.get("tls"));
    assertEquals(grpcJava.target(), json.get("authority"));
    assertEquals("/abortguard.probe.v1.Probe/NoSuchMethod", json.get("path"));
    assertEquals(1L, json.get("calls_requested"));
    assertEquals(100L, json.get("wait_ms"));
    assertEquals(0L, json.get("exit_code"));
    @SuppressWarnings("unchecked")
    Map<String, Object> summary = (Map<String, Object>) json.get("summary");
    assertEquals(List.of("calls", "statuses", "followed_by_nothing", "followed_by_rst_no_error",
        "followed_by_rst_other", "reset_before_status", "status_counts"), List.copyOf(summary.keySet()));
    assertEquals(Map.of("PERMISSION_DENIED", 1L), summary.get("status_counts"));
    Map<String, Object> call = run.calls().get(0);
    assertEquals(List.of("call", "stream_id", "http_status", "grpc_status", "grpc_status_name", "grpc_message",
        "trailers_only", "status_after_us", "followed_by", "rst_code", "rst_code_name", "rst_after_us",
        "rst_same_read", "status_lost", "problem", "frames"), List.copyOf(call.keySet()), run::toString);
    assertEquals(1L, call.get("call"));
    assertEquals(1L, call.get("stream_id"));
    assertEquals(200L, call.get("http_status"));
    assertEquals("rejected by abortguard-probe serve (grpc-java)", call.get("grpc_message"));
    for (Map<String, Object> frame : frames(call)) {
      assertEquals(List.of("t_us", "direction", "type", "end_stream", "error_code", "read"),
          List.copyOf(frame.keySet()), run::toString);
    }
  }

  private static void assertStatus(Map<String, Object> call, CheckRun run) {
    assertEquals(7L, call.get("grpc_status"), run::toString);
    assertEquals("PERMISSION_DENIED", call.get("grpc_status_name"), run::toString);
    assertEquals(Boolean.TRUE, call.get("trailers_only"), run::toString);
  }

  private static void assertNothingFollows(CheckRun run) {
    assertEquals("keeps_statuses", run.json().get("verdict"), run::toString);
    for (Map<String, Object> call : run.calls()) {
      assertStatus(call, run);
      assertEquals("nothing", call.get("followed_by"), run::toString);
      assertEquals(null, call.get("rst_code"), run::toString);
      assertFalse(receivedFrames(call).contains("RST_STREAM"), run::toString);
      // The stream stayed open: the probe ended its side itself after watching it.
      Map<String, Object> last = frames(call).get(frames(call).size() - 1);
      assertEquals("sent", last.get("direction"), run::toString);
      assertEquals("DATA", last.get("type"), run::toString);
      assertEquals(Boolean.TRUE, last.get("end_stream"), run::toString);
    }
  }

  /** The received frames' types, {@code +END_STREAM} where set, ignoring WINDOW_UPDATE. */
  private static List<String> receivedFrames(Map<String, Object> call) {
    return frames(call).stream()
        .filter(f -> "received".equals(f.get("direction")) && !"WINDOW_UPDATE".equals(f.get("type")))
        .map(f -> f.get("type") + (Boolean.TRUE.equals(f.get("end_stream")) ? "+END_STREAM" : ""))
        .collect(Collectors.toList());
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> frames(Map<String, Object> call) {
    return (List<Map<String, Object>>) call.get("frames");
  }
}
