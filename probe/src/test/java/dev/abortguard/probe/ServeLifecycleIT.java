package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.sample.e2e.E2eTools;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code serve} stops cleanly on SIGTERM and SIGINT (Ctrl-C), even with a client connected, and rejects bad options. */
class ServeLifecycleIT {
  private static final Duration EXIT_BOUND = Duration.ofSeconds(10);

  @TempDir Path dir;

  @Test
  void sigtermWithAClientConnectedStopsCleanly() throws Exception {
    try (ServeProcess serve = ServeProcess.start(dir, "--behaviour", "grpc-java");
        Socket client = new Socket()) {
      client.connect(new InetSocketAddress("127.0.0.1", serve.port), 5000);
      OutputStream out = client.getOutputStream();
      out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // an empty SETTINGS frame
      out.flush();

      serve.process.destroy(); // SIGTERM, to exactly this process
      assertTrue(serve.process.waitFor(EXIT_BOUND.toMillis(), TimeUnit.MILLISECONDS),
          "serve still running " + EXIT_BOUND + " after SIGTERM:\n" + serve.stdout() + serve.stderr());
      assertEquals(143, serve.process.exitValue(), serve::stderr); // 128 + SIGTERM
      assertTrue(serve.stdout().contains("abortguard-probe serve: stopped"), serve::stdout);
      assertFalse(serve.stderr().contains("LEAK:"), serve::stderr);
      assertFalse(serve.stderr().contains("Exception"), serve::stderr);
    }
  }

  @Test
  void sigintStopsCleanly() throws Exception {
    try (ServeProcess serve = ServeProcess.start(dir)) {
      Process kill = new ProcessBuilder("kill", "-INT", Long.toString(serve.process.pid())).start();
      assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -INT failed");
      assertTrue(serve.process.waitFor(EXIT_BOUND.toMillis(), TimeUnit.MILLISECONDS),
          "serve still running " + EXIT_BOUND + " after SIGINT:\n" + serve.stdout() + serve.stderr());
      assertEquals(130, serve.process.exitValue(), serve::stderr); // 128 + SIGINT
      assertTrue(serve.stdout().contains("abortguard-probe serve: stopped"), serve::stdout);
    }
  }

  @Test
  void badOptionsExitWithUsage() throws Exception {
    Process process = new ProcessBuilder(ProbeTools.java().toString(), "-jar", ProbeTools.probeJar().toString(),
        "serve", "--behaviour", "envoy")
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("bad-serve.out").toFile())
        .start();
    try {
      assertTrue(process.waitFor(EXIT_BOUND.toMillis(), TimeUnit.MILLISECONDS));
      String output = E2eTools.readQuietly(dir.resolve("bad-serve.out"));
      assertEquals(2, process.exitValue(), output);
      assertTrue(output.contains("serve needs --port"), output);
    } finally {
      E2eTools.stop(process, EXIT_BOUND);
    }
  }
}
