package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.abortguard.sample.e2e.E2eTools;
import dev.abortguard.sample.e2e.HaproxyProcess;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The probe against the real thing: the guarded sample server (grpc-java with abortguard) behind
 * HAProxy 2.6. With {@code deferred} the chain keeps statuses; with {@code immediate} (what C-core
 * and grpc-go servers do) HAProxy turns the guard's reset into CANCEL, and the probe says so.
 */
class SampleServerIT {
  @TempDir Path dir;

  @Test
  void deferredThroughHaproxyKeepsStatuses() throws Exception {
    E2eTools.requireHaproxy();
    try (SampleServer server = SampleServer.start(dir, "deferred");
        HaproxyProcess haproxy = HaproxyProcess.start(server.port, dir)) {
      // The default path: a method the server does not have, rejected with UNIMPLEMENTED.
      CheckRun run = CheckRun.check(dir, haproxy.target(), "--calls", "5", "--json");
      assertEquals(0, run.exitCode, () -> run + "\n" + haproxy.describe() + server.log());
      for (Map<String, Object> call : run.calls()) {
        assertEquals("UNIMPLEMENTED", call.get("grpc_status_name"), run::toString);
        assertEquals("nothing", call.get("followed_by"), run::toString);
      }
      run.assertExit(0);

      // A real method whose calls the demo interceptor rejects, as an auth check would.
      CheckRun denied = CheckRun.check(dir, haproxy.target(), "--calls", "3", "--json",
          "--path", "/abortguard.demo.v1.DemoService/ClientStream", "--header", "x-demo-abort=PERMISSION_DENIED");
      assertEquals(0, denied.exitCode, () -> denied + "\n" + haproxy.describe() + server.log());
      for (Map<String, Object> call : denied.calls()) {
        assertEquals("PERMISSION_DENIED", call.get("grpc_status_name"), denied::toString);
        assertEquals("aborted by demo server", call.get("grpc_message"), denied::toString);
        assertEquals("nothing", call.get("followed_by"), denied::toString);
      }
    }
  }

  @Test
  void immediateThroughHaproxyLosesStatuses() throws Exception {
    E2eTools.requireHaproxy();
    try (SampleServer server = SampleServer.start(dir, "immediate");
        HaproxyProcess haproxy = HaproxyProcess.start(server.port, dir)) {
      CheckRun run = CheckRun.check(dir, haproxy.target(), "--calls", "5", "--json");
      assertEquals(1, run.exitCode, () -> run + "\n" + haproxy.describe() + server.log());
      for (Map<String, Object> call : run.calls()) {
        assertEquals("UNIMPLEMENTED", call.get("grpc_status_name"), run::toString);
        assertEquals(8L, call.get("rst_code"), run::toString);
      }
    }
  }

  /**
   * {@code java -Dabortguard.reset=POLICY -jar sample-server.jar --port P} as a child process, on a
   * free port; {@link #start} returns once the port accepts connections.
   */
  private static final class SampleServer implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    private static final int BIND_ATTEMPTS = 3;

    final Process process;
    final int port;
    final Path logFile;

    private SampleServer(Process process, int port, Path logFile) {
      this.process = process;
      this.port = port;
      this.logFile = logFile;
    }

    static SampleServer start(Path dir, String policy) throws IOException, InterruptedException {
      Path jar = ProbeTools.sampleServerJar();
      StringBuilder failures = new StringBuilder();
      // The free port may be taken before the server binds it: try again with another.
      for (int attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
        int port = E2eTools.freePort();
        Path log = dir.resolve("sample-server-" + policy + "-" + attempt + ".log");
        Process process = new ProcessBuilder(ProbeTools.java().toString(), "-Dabortguard.reset=" + policy,
            "-jar", jar.toString(), "--port", Integer.toString(port))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
        if (E2eTools.awaitListening(port, process, START_TIMEOUT)) {
          return new SampleServer(process, port, log);
        }
        E2eTools.stop(process, STOP_TIMEOUT);
        failures.append("\nattempt ").append(attempt).append(" (port ").append(port).append("):\n")
            .append(E2eTools.readQuietly(log));
      }
      fail("the sample server did not start:" + failures);
      throw new AssertionError("unreachable");
    }

    String log() {
      return "\nsample server log:\n" + E2eTools.readQuietly(logFile);
    }

    /** Stops exactly this server (SIGTERM, then SIGKILL), bounded. */
    @Override
    public void close() {
      E2eTools.stop(process, STOP_TIMEOUT);
    }
  }
}
