package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import dev.abortguard.sample.e2e.E2eTools;
import dev.abortguard.sample.e2e.Json;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** One finished {@code java -jar abortguard-probe.jar check ...} process: exit status, output, how long it took. */
final class CheckRun {
  /** Far beyond any check the tests run; a probe that is still running then has hung. */
  static final Duration HANG_LIMIT = Duration.ofSeconds(40);
  private static final AtomicInteger RUNS = new AtomicInteger();

  final List<String> args;
  final int exitCode;
  final String stdout;
  final String stderr;
  final Duration elapsed;

  private CheckRun(List<String> args, int exitCode, String stdout, String stderr, Duration elapsed) {
    this.args = args;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
    this.elapsed = elapsed;
  }

  /** Runs {@code check args} as its own JVM, output kept in {@code dir}, and waits (bounded) for it to exit. */
  static CheckRun check(Path dir, String... args) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    int n = RUNS.incrementAndGet();
    Path out = dir.resolve("check-" + n + ".out");
    Path err = dir.resolve("check-" + n + ".err");
    List<String> command = new ArrayList<>(List.of(
        ProbeTools.java().toString(), ProbeTools.PARANOID, "-jar", ProbeTools.probeJar().toString(), "check"));
    command.addAll(List.of(args));
    long start = System.nanoTime();
    Process process = new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectOutput(out.toFile())
        .redirectError(err.toFile())
        .start();
    try {
      if (!process.waitFor(HANG_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
        fail("check " + List.of(args) + " still running after " + HANG_LIMIT + "; stderr:\n"
            + E2eTools.readQuietly(err));
      }
    } finally {
      E2eTools.stop(process, Duration.ofSeconds(5));
    }
    Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
    return new CheckRun(List.of(args), process.exitValue(), E2eTools.readQuietly(out), E2eTools.readQuietly(err),
        elapsed);
  }

  /** The JSON report on stdout. */
  Map<String, Object> json() {
    Object parsed = Json.parse(stdout);
    if (!(parsed instanceof Map)) {
      fail("stdout is not a JSON object:\n" + this);
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> map = (Map<String, Object>) parsed;
    return map;
  }

  /** The report's calls. */
  @SuppressWarnings("unchecked")
  List<Map<String, Object>> calls() {
    return (List<Map<String, Object>>) json().get("calls");
  }

  /** Asserts the exit status, and that neither leaks nor Netty warnings showed up on stderr. */
  CheckRun assertExit(int expected) {
    assertEquals(expected, exitCode, () -> "exit status of check " + args + "\n" + this);
    assertFalse(stderr.contains("LEAK:"), () -> "leak reported:\n" + this);
    return this;
  }

  @Override
  public String toString() {
    return "check " + args + " exited " + exitCode + " after " + elapsed.toMillis() + " ms\n--- stdout:\n" + stdout
        + "--- stderr:\n" + stderr;
  }
}
