package dev.abortguard.spring.boot.e2e;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Finds the outside tools the end-to-end tests drive (haproxy, Debian's python3 with grpcio, our
 * Python client) and skips the tests, or fails them when {@code CI=true}, if one is missing. Copied
 * from the sample server's end-to-end suite, trimmed to what this module uses.
 */
final class E2eTools {
  /** Debian's interpreter: python3-grpcio is installed for it, not for pyenv's. */
  static final Path PYTHON = Path.of("/usr/bin/python3");
  static final String INSTALL_HINT = "apt-get install haproxy python3-grpcio";
  private static final long PROBE_TIMEOUT_SECONDS = 30;

  private E2eTools() {}

  /** Skips (or, with {@code CI=true}, fails) the calling test unless haproxy and grpcio exist. */
  static void requireProxyTools() {
    List<String> missing = new ArrayList<>();
    if (haproxy() == null) {
      missing.add("haproxy (not on PATH, /usr/sbin or /usr/local/sbin)");
    }
    if (!Files.isExecutable(PYTHON)) {
      missing.add(PYTHON + "");
    } else if (!probe(PYTHON.toString(), "-c", "import grpc")) {
      missing.add("the grpc module for " + PYTHON);
    }
    if (!missing.isEmpty()) {
      String message = "end-to-end proxy tests need " + String.join(", ", missing) + ": " + INSTALL_HINT;
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail(message + " (CI=true: failing instead of skipping)");
      }
      Assumptions.abort(message);
    }
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

  /** One of the scripts in {@code src/test/python}. */
  static Path script(String name) {
    // The sample server's C-core client, shared rather than copied.
    Path path = Path.of(System.getProperty("basedir", "."), "..", "sample-server", "src", "test", "python", name);
    if (!Files.isRegularFile(path)) {
      fail(path.toAbsolutePath() + " is missing");
    }
    return path;
  }

  /** A port that was free on 127.0.0.1 a moment ago (callers retry if someone takes it meanwhile). */
  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
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

  private static boolean probe(String... command) {
    try {
      Process process = new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
      if (!process.waitFor(PROBE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return false;
      }
      return process.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
