package dev.abortguard.sample.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Debian's nghttpx ({@code nghttp2-proxy}) on 127.0.0.1, HTTP/2 cleartext on both sides, one
 * process. After a backend's early trailers it answers the client itself and never ends or resets
 * the upstream stream: every aborted call lingers on the backend.
 */
public final class NghttpxProcess implements AutoCloseable {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
  private static final int BIND_ATTEMPTS = 3;

  private final Process process;
  private final int port;
  private final Path log;

  private NghttpxProcess(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /** Starts nghttpx forwarding a free port to {@code 127.0.0.1:backendPort}; returns once it accepts connections. */
  public static NghttpxProcess start(int backendPort, Path dir) throws IOException, InterruptedException {
    Path nghttpx = E2eTools.executable("nghttpx");
    if (nghttpx == null) {
      throw new IllegalStateException("nghttpx not found: apt-get install nghttp2-proxy");
    }
    Files.createDirectories(dir);
    String failures = "";
    for (int attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
      int port = E2eTools.freePort();
      Path log = dir.resolve("nghttpx-" + attempt + ".log");
      Process process = new ProcessBuilder(nghttpx.toString(),
              "--conf=/dev/null", "--single-process", "--workers=1", "--log-level=WARN",
              "--frontend=127.0.0.1," + port + ";no-tls",
              "--backend=127.0.0.1," + backendPort + ";;proto=h2")
          .redirectErrorStream(true)
          .redirectOutput(log.toFile())
          .start();
      NghttpxProcess started = new NghttpxProcess(process, port, log);
      if (E2eTools.awaitListening(port, process, READY_TIMEOUT)) {
        return started;
      }
      started.close();
      failures += "\nattempt " + attempt + " (port " + port + "):\n" + E2eTools.readQuietly(log);
    }
    throw new IllegalStateException("nghttpx did not start:" + failures);
  }

  public String target() {
    return "127.0.0.1:" + port;
  }

  public String describe() {
    return "nghttpx " + target() + ", log:\n" + E2eTools.readQuietly(log);
  }

  /** Stops exactly this nghttpx (SIGTERM, then SIGKILL) and waits, bounded, for it to exit. */
  @Override
  public void close() {
    E2eTools.stop(process, STOP_TIMEOUT);
  }
}
