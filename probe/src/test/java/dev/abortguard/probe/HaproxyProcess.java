package dev.abortguard.probe;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * HAProxy in front of one HTTP/2 backend, run in the foreground ({@code haproxy -f cfg -db}) as a
 * child process: {@code mode http}, an h2 frontend and an h2 server on 127.0.0.1, logging to a file.
 * The same configuration as the sample server's end-to-end tests.
 */
final class HaproxyProcess implements AutoCloseable {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
  private static final int BIND_ATTEMPTS = 3;

  private final Process process;
  private final int port;
  private final Path log;

  private HaproxyProcess(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /** Starts HAProxy forwarding a free 127.0.0.1 port to {@code 127.0.0.1:backendPort}; returns once it accepts connections. */
  static HaproxyProcess start(int backendPort, Path dir) throws IOException, InterruptedException {
    Path haproxy = ProbeTools.requireHaproxy();
    Files.createDirectories(dir);
    StringBuilder failures = new StringBuilder();
    // The free port may be taken between our look and HAProxy's bind: try again with another.
    for (int attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
      int port = ProbeTools.freePort();
      Path config = dir.resolve("haproxy-" + backendPort + "-" + attempt + ".cfg");
      Path log = dir.resolve("haproxy-" + backendPort + "-" + attempt + ".log");
      Files.writeString(config, config(port, backendPort), StandardCharsets.UTF_8);
      Process process = new ProcessBuilder(haproxy.toString(), "-f", config.toString(), "-db")
          .redirectErrorStream(true)
          .redirectOutput(log.toFile())
          .start();
      HaproxyProcess started = new HaproxyProcess(process, port, log);
      // Someone else may hold the port while HAProxy failed to bind it: listening and alive, or retry.
      if (ProbeTools.awaitListening(port, process, READY_TIMEOUT)) {
        return started;
      }
      started.close();
      failures.append("\nattempt ").append(attempt).append(" (port ").append(port).append("):\n")
          .append(ProbeTools.readQuietly(log));
    }
    throw new IllegalStateException("haproxy did not start:" + failures);
  }

  static String config(int port, int backendPort) {
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
        "  server s1 127.0.0.1:" + backendPort + " proto h2",
        "");
  }

  String target() {
    return "127.0.0.1:" + port;
  }

  /** Everything HAProxy printed, for a failing test's message. */
  String log() {
    return ProbeTools.readQuietly(log);
  }

  /** Stops exactly this HAProxy (SIGTERM, then SIGKILL) and waits, bounded, for it to exit. */
  @Override
  public void close() {
    ProbeTools.stop(process, STOP_TIMEOUT);
  }
}
