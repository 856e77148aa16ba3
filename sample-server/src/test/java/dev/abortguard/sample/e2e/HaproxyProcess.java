package dev.abortguard.sample.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * HAProxy in front of one HTTP/2 backend, run in the foreground ({@code haproxy -f cfg -db}) as a
 * child process, with the configuration of the public report: an h2 frontend and an h2 server on
 * 127.0.0.1, HTTP mode, {@code option httplog}, logging to stdout (kept in a file).
 */
public final class HaproxyProcess implements AutoCloseable {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
  private static final int BIND_ATTEMPTS = 3;

  private final Process process;
  private final int port;
  private final Path log;
  private final Path config;

  private HaproxyProcess(Process process, int port, Path log, Path config) {
    this.process = process;
    this.port = port;
    this.log = log;
    this.config = config;
  }

  /** Starts HAProxy forwarding a free 127.0.0.1 port to {@code 127.0.0.1:backendPort}; returns once it accepts connections. */
  public static HaproxyProcess start(int backendPort, Path dir) throws IOException, InterruptedException {
    return start(backendPort, dir, "proto h2");
  }

  /**
   * Like {@link #start(int, Path)}, but HAProxy speaks TLS (ALPN h2) to the backend and verifies its
   * certificate against {@code caFile} (PEM): for a backend that serves TLS only.
   */
  public static HaproxyProcess startTlsBackend(int backendPort, Path dir, Path caFile)
      throws IOException, InterruptedException {
    return start(backendPort, dir, "ssl alpn h2 verify required ca-file " + caFile.toAbsolutePath());
  }

  private static HaproxyProcess start(int backendPort, Path dir, String serverOptions)
      throws IOException, InterruptedException {
    Path haproxy = E2eTools.haproxy();
    if (haproxy == null) {
      throw new IllegalStateException("haproxy not found: " + E2eTools.INSTALL_HINT);
    }
    Files.createDirectories(dir);
    String failures = "";
    // The free port may be taken between our probe and HAProxy's bind: try again with another.
    for (int attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
      int port = E2eTools.freePort();
      Path config = dir.resolve("haproxy-" + attempt + ".cfg");
      Path log = dir.resolve("haproxy-" + attempt + ".log");
      Files.writeString(config, config(port, backendPort, serverOptions), StandardCharsets.UTF_8);
      Process process = new ProcessBuilder(haproxy.toString(), "-f", config.toString(), "-db")
          .redirectErrorStream(true)
          .redirectOutput(log.toFile())
          .start();
      HaproxyProcess started = new HaproxyProcess(process, port, log, config);
      if (E2eTools.awaitListening(port, process, READY_TIMEOUT)) {
        return started;
      }
      started.close();
      failures += "\nattempt " + attempt + " (port " + port + "), exit "
          + (process.isAlive() ? "none (still not listening after " + READY_TIMEOUT + ")" : process.exitValue())
          + ":\n" + E2eTools.readQuietly(log);
    }
    throw new IllegalStateException("haproxy did not start:" + failures);
  }

  static String config(int port, int backendPort) {
    return config(port, backendPort, "proto h2");
  }

  static String config(int port, int backendPort, String serverOptions) {
    return String.join("\n",
        "global",
        "  log stdout format raw local0",
        "",
        "defaults",
        "  mode http",
        "  option httplog",
        "  option dontlognull",
        "  log global",
        "  timeout connect 5s",
        "  timeout client 30s",
        "  timeout server 30s",
        "",
        "frontend fe",
        "  bind 127.0.0.1:" + port + " proto h2",
        "  default_backend be",
        "",
        "backend be",
        "  server s1 127.0.0.1:" + backendPort + " " + serverOptions,
        "");
  }

  /** The frontend port, where clients connect. */
  int port() {
    return port;
  }

  public String target() {
    return "127.0.0.1:" + port;
  }

  /** Everything HAProxy has printed: its request log lines, warnings and errors. */
  List<String> logLines() {
    return E2eTools.readQuietly(log).lines().toList();
  }

  /** The configuration and the log, for a failing test's output. */
  public String describe() {
    return "haproxy " + target() + " (" + config + "), log:\n" + String.join("\n", logLines());
  }

  /** Stops exactly this HAProxy (SIGTERM, then SIGKILL) and waits, bounded, for it to exit. */
  @Override
  public void close() {
    E2eTools.stop(process, STOP_TIMEOUT);
  }
}
