package dev.abortguard.ops;

import dev.abortguard.sample.e2e.E2eTools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs Debian's promtool, bounded, and keeps what it printed. */
final class Promtool {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  /** What one run printed (stdout and stderr together) and its exit code. */
  record Run(List<String> command, int exitCode, String output) {
    @Override
    public String toString() {
      return String.join(" ", command) + " exited " + exitCode + ":\n" + output;
    }
  }

  private Promtool() {}

  /** {@code promtool <arguments>} in {@code dir}. */
  static Run run(Path dir, Path log, String... arguments) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(OpsFiles.promtool().toString());
    command.addAll(List.of(arguments));
    Files.createDirectories(log.getParent());
    Process process = new ProcessBuilder(command)
        .directory(dir.toFile())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    if (!process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
      E2eTools.stop(process, Duration.ofSeconds(5));
      throw new IllegalStateException(String.join(" ", command) + " did not finish within " + TIMEOUT);
    }
    return new Run(command, process.exitValue(), E2eTools.readQuietly(log));
  }
}
