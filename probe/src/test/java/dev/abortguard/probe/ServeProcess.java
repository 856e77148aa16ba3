package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.fail;

import dev.abortguard.sample.e2e.E2eTools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code java -jar abortguard-probe.jar serve --port 0 ...} as a child process; {@link #start}
 * returns once it has printed the port it listens on.
 */
final class ServeProcess implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(20);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
  private static final Pattern LISTENING =
      Pattern.compile("abortguard-probe serve: listening on 127\\.0\\.0\\.1:(\\d+) .*");
  private static final long POLL_MILLIS = 20;
  private static final AtomicInteger STARTS = new AtomicInteger();

  final Process process;
  final int port;
  final Path stdout;
  final Path stderr;

  private ServeProcess(Process process, int port, Path stdout, Path stderr) {
    this.process = process;
    this.port = port;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /** Starts {@code serve --port 0} plus {@code args}, output kept in {@code dir}. */
  static ServeProcess start(Path dir, String... args) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    int n = STARTS.incrementAndGet();
    Path out = dir.resolve("serve-" + n + ".out");
    Path err = dir.resolve("serve-" + n + ".err");
    List<String> command = new ArrayList<>(List.of(ProbeTools.java().toString(), ProbeTools.PARANOID, "-jar",
        ProbeTools.probeJar().toString(), "serve", "--port", "0"));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command)
        .redirectOutput(out.toFile())
        .redirectError(err.toFile())
        .start();
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    // The pause between looks at stdout is a wait for the process to exit, which ends it early if serve fails.
    while (System.nanoTime() < deadline) {
      Matcher matcher = LISTENING.matcher(E2eTools.readQuietly(out).lines().findFirst().orElse(""));
      if (matcher.matches()) {
        return new ServeProcess(process, Integer.parseInt(matcher.group(1)), out, err);
      }
      if (process.waitFor(POLL_MILLIS, TimeUnit.MILLISECONDS)) {
        break;
      }
    }
    E2eTools.stop(process, STOP_TIMEOUT);
    fail("serve " + List.of(args) + " did not start (exit " + (process.isAlive() ? "none" : process.exitValue())
        + ")\nstdout:\n" + E2eTools.readQuietly(out) + "\nstderr:\n" + E2eTools.readQuietly(err));
    throw new AssertionError("unreachable");
  }

  String target() {
    return "127.0.0.1:" + port;
  }

  String stdout() {
    return E2eTools.readQuietly(stdout);
  }

  String stderr() {
    return E2eTools.readQuietly(stderr);
  }

  /** Stops exactly this process (SIGTERM, then SIGKILL) and waits, bounded, for it to exit. */
  @Override
  public void close() {
    E2eTools.stop(process, STOP_TIMEOUT);
  }
}
