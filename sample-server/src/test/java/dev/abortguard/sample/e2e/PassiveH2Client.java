package dev.abortguard.sample.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code passive_h2_client.py}: one aborted call from a raw HTTP/2 peer that never closes its
 * side, and the frame-level events it received, in order.
 */
final class PassiveH2Client {
  private PassiveH2Client() {}

  /** Each JSON line the script printed ({@code t}, {@code event} and the event's fields). */
  static List<Map<String, Object>> run(String target, Duration timeout, Path dir)
      throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Path out = dir.resolve("passive-h2-client.out");
    Path err = dir.resolve("passive-h2-client.err");
    List<String> command = List.of(
        E2eTools.PYTHON.toString(), E2eTools.script("passive_h2_client.py").toString(),
        "--target", target,
        "--timeout-s", Double.toString(timeout.toMillis() / 1000.0));
    Process process = new ProcessBuilder(command)
        .redirectOutput(out.toFile())
        .redirectError(err.toFile())
        .start();
    long bound = timeout.plusSeconds(30).toMillis();
    if (!process.waitFor(bound, TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      throw new IllegalStateException(String.join(" ", command) + " did not finish within " + bound + " ms");
    }
    String stdout = E2eTools.readQuietly(out);
    if (process.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " exited " + process.exitValue()
          + "; stdout:\n" + stdout + "\nstderr:\n" + E2eTools.readQuietly(err));
    }
    return stdout.lines().filter(line -> !line.isBlank()).map(Json::object).toList();
  }
}
