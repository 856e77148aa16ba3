package dev.abortguard.sample.e2e;

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
 * Finds the outside tools the end-to-end tests drive (haproxy, Debian's python3 with grpcio and h2,
 * our Python scripts, the sample server's fat jar) and skips the tests, or fails them when
 * {@code CI=true}, if one is missing.
 */
public final class E2eTools {
  /** Debian's interpreter: python3-grpcio and python3-h2 are installed for it, not for pyenv's. */
  static final Path PYTHON = Path.of("/usr/bin/python3");
  static final String INSTALL_HINT = "apt-get install haproxy python3-grpcio python3-h2";
  private static final long PROBE_TIMEOUT_SECONDS = 30;
  private static final long POLL_MILLIS = 20;

  private E2eTools() {}

  /** Skips (or, with {@code CI=true}, fails) the calling test unless haproxy and the Python modules exist. */
  public static void requireProxyTools() {
    List<String> missing = new ArrayList<>();
    if (haproxy() == null) {
      missing.add("haproxy (not on PATH, /usr/sbin or /usr/local/sbin)");
    }
    if (!Files.isExecutable(PYTHON)) {
      missing.add(PYTHON + "");
    } else if (!probe(PYTHON.toString(), "-c", "import grpc, h2")) {
      missing.add("the grpc and h2 modules for " + PYTHON);
    }
    if (!missing.isEmpty()) {
      skipOrFail("end-to-end proxy tests need " + String.join(", ", missing) + ": " + INSTALL_HINT);
    }
  }

  /** Skips (or, with {@code CI=true}, fails) the calling test unless nghttpx exists. */
  public static void requireNghttpx() {
    if (executable("nghttpx") == null) {
      skipOrFail("the never-closing-proxy tests need nghttpx: apt-get install nghttp2-proxy");
    }
  }

  /**
   * {@code name} on PATH, /usr/sbin or /usr/local/sbin; if it is missing, skips the calling test (or,
   * with {@code CI=true}, fails it) saying what needs it and how to install it.
   */
  public static Path requireExecutable(String name, String neededBy, String installHint) {
    Path path = executable(name);
    if (path == null) {
      skipOrFail(neededBy + " need " + name + ": " + installHint);
    }
    return path;
  }

  /** {@code name} on PATH, /usr/sbin or /usr/local/sbin, or null. */
  static Path executable(String name) {
    List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
    dirs.add("/usr/sbin");
    dirs.add("/usr/local/sbin");
    for (String dir : dirs) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
        return Path.of(dir, name);
      }
    }
    return null;
  }

  /** The haproxy executable, or null. */
  public static Path haproxy() {
    return executable("haproxy");
  }

  /** Skips (or, with {@code CI=true}, fails) the calling test unless haproxy exists; for tests that need no Python. */
  public static void requireHaproxy() {
    if (haproxy() == null) {
      skipOrFail("the proxy tests need haproxy (not on PATH, /usr/sbin or /usr/local/sbin): apt-get install haproxy");
    }
  }

  /** A tool is missing: skips the calling test, or fails it when {@code CI=true}, where every tool must be there. */
  private static void skipOrFail(String message) {
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail(message + " (CI=true: failing instead of skipping)");
    }
    Assumptions.abort(message);
  }

  /**
   * One of the sample server's scripts in {@code src/test/python}; other modules that run them (the
   * Spring Boot starter's end-to-end test) say where that is with {@code abortguard.e2e.scripts}.
   */
  static Path script(String name) {
    String scripts = System.getProperty("abortguard.e2e.scripts");
    Path path = scripts != null
        ? Path.of(scripts, name)
        : Path.of(System.getProperty("basedir", "."), "src", "test", "python", name);
    if (!Files.isRegularFile(path)) {
      fail(path.toAbsolutePath() + " is missing");
    }
    return path;
  }

  /** The fat jar {@code package} builds. */
  static Path sampleServerJar() {
    Path jar = Path.of(System.getProperty("sample-server.jar", "target/sample-server.jar"));
    if (!Files.isRegularFile(jar)) {
      fail(jar.toAbsolutePath() + " is missing: run `./mvnw -pl sample-server -am package` first");
    }
    return jar;
  }

  /** A port that was free on 127.0.0.1 a moment ago (callers retry if someone takes it meanwhile). */
  public static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  /** A file's text, or a note saying why there is none. */
  public static String readQuietly(Path file) {
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
  public static void stop(Process process, Duration timeout) {
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

  /**
   * Waits until {@code 127.0.0.1:port} accepts a connection; false if {@code process} exits first or
   * {@code timeout} passes. Proxies say nothing when ready, so this retries the connect; the pause
   * between tries is a wait for the process to exit, which ends it early if the process fails (a
   * taken port, a bad config).
   */
  public static boolean awaitListening(int port, Process process, Duration timeout) throws InterruptedException {
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
