package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * What the integration tests start as processes (the probe's fat jar, HAProxy, the sample
 * server's fat jar), free ports, bounded waits and exact stops. A missing HAProxy skips a test,
 * or fails it when {@code CI=true}.
 */
final class ProbeTools {
  static final String INSTALL_HINT = "apt-get install haproxy";
  /** Every JVM the tests start runs Netty's leak detector at its strictest. */
  static final String PARANOID = "-Dio.netty.leakDetection.level=paranoid";
  private static final long POLL_MILLIS = 20;

  private ProbeTools() {}

  static Path java() {
    return Path.of(System.getProperty("java.home"), "bin", "java");
  }

  /** The fat jar {@code package} builds; failsafe runs after it. */
  static Path probeJar() {
    Path jar = Path.of(System.getProperty("probe.jar", "target/abortguard-probe.jar"));
    if (!Files.isRegularFile(jar)) {
      fail(jar.toAbsolutePath() + " is missing: run `./mvnw -pl probe package` first");
    }
    return jar;
  }

  /** The sample server's fat jar, built by the sample-server module (listed before this one). */
  static Path sampleServerJar() {
    Path jar = Path.of(System.getProperty("sample-server.jar", "../sample-server/target/sample-server.jar"));
    if (!Files.isRegularFile(jar)) {
      fail(jar.toAbsolutePath() + " is missing: build it with"
          + " `./mvnw -B -pl sample-server -am package -DskipTests`, or run the whole build");
    }
    return jar;
  }

  /** Skips (or, with {@code CI=true}, fails) the calling test unless haproxy is installed. */
  static Path requireHaproxy() {
    Path haproxy = haproxy();
    if (haproxy == null) {
      String message = "the proxy tests need haproxy (not on PATH, /usr/sbin or /usr/local/sbin): " + INSTALL_HINT;
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail(message + " (CI=true: failing instead of skipping)");
      }
      Assumptions.abort(message);
    }
    return haproxy;
  }

  /** The haproxy executable, or null. */
  static Path haproxy() {
    List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
    dirs.add("/usr/sbin");
    dirs.add("/usr/local/sbin");
    for (String dir : dirs) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "haproxy"))) {
        return Path.of(dir, "haproxy");
      }
    }
    return null;
  }

  /** A port that was free on 127.0.0.1 a moment ago (callers retry if someone takes it meanwhile). */
  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  /**
   * Waits until {@code 127.0.0.1:port} accepts a connection; false if {@code process} exits first
   * or {@code timeout} passes. The pause between tries is a wait for the process to exit.
   */
  static boolean awaitListening(int port, Process process, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        // Someone else may hold the port while our process failed to bind it and is exiting.
        return !process.waitFor(POLL_MILLIS, TimeUnit.MILLISECONDS);
      } catch (IOException notYet) {
        if (process.waitFor(POLL_MILLIS, TimeUnit.MILLISECONDS)) {
          return false;
        }
      }
    }
    return false;
  }

  /** A file's text, or a note saying why there is none. */
  static String readQuietly(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e + ")";
    }
  }

  /**
   * Stops exactly {@code process}: SIGTERM, then SIGKILL if it has not exited within {@code
   * timeout}; waits, bounded, for it to exit. An interrupt is kept for the caller.
   */
  static void stop(Process process, Duration timeout) {
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
