package dev.abortguard.sample.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code abort_client.py}, the C-core (grpcio) client, and reads the statuses it counted.
 */
public final class CoreClient {
  /** The gRPC method each call shape uses. */
  public enum Shape {
    CLIENT_STREAM("client-stream", "/abortguard.demo.v1.DemoService/ClientStream"),
    BIDI("bidi", "/abortguard.demo.v1.DemoService/Bidi");

    final String flag;
    final String method;

    Shape(String flag, String method) {
      this.flag = flag;
      this.method = method;
    }
  }

  /** What the client does with its request stream until the call ends (see abort_client.py). */
  public enum Behaviour {
    KEEPS_SENDING, ONE_THEN_WAIT, NOTHING, HALF_CLOSE;

    String flag() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Whether the client leaves its side open until the server's trailers, so the stream is early-closed. */
    boolean leavesStreamOpen() {
      return this != HALF_CLOSE;
    }
  }

  /** How the calls ended: status code name to count, and "CODE: description" to count. */
  public record Result(int calls, Map<String, Integer> statuses, Map<String, Integer> messages, double elapsedSeconds) {
    public int count(String status) {
      return statuses.getOrDefault(status, 0);
    }

    @Override
    public String toString() {
      return calls + " calls in " + elapsedSeconds + " s: " + messages;
    }
  }

  private static final Duration CALL_DEADLINE = Duration.ofSeconds(10);
  private static final Duration RUN_TIMEOUT = Duration.ofSeconds(120);

  private final Path dir;
  private int runs;

  /** A client that keeps its output files in {@code dir}. */
  public CoreClient(Path dir) {
    this.dir = dir;
  }

  /** Makes {@code calls} calls with {@code x-demo-abort: <abort>} over one channel to {@code target}. */
  public Result run(String target, Shape shape, Behaviour behaviour, int calls, int concurrency, String abort)
      throws IOException, InterruptedException {
    Files.createDirectories(dir);
    int run = ++runs;
    Path out = dir.resolve("abort-client-" + run + ".out");
    Path err = dir.resolve("abort-client-" + run + ".err");
    List<String> command = List.of(
        E2eTools.PYTHON.toString(), E2eTools.script("abort_client.py").toString(),
        "--target", target,
        "--method", shape.method,
        "--shape", shape.flag,
        "--behaviour", behaviour.flag(),
        "--calls", Integer.toString(calls),
        "--concurrency", Integer.toString(concurrency),
        "--abort", abort,
        "--timeout-s", Long.toString(CALL_DEADLINE.toSeconds()));
    Process process = new ProcessBuilder(command)
        .redirectOutput(out.toFile())
        .redirectError(err.toFile())
        .start();
    if (!process.waitFor(RUN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      throw new IllegalStateException(String.join(" ", command) + " did not finish within " + RUN_TIMEOUT
          + "; stderr:\n" + E2eTools.readQuietly(err));
    }
    String stdout = E2eTools.readQuietly(out).trim();
    if (process.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " exited " + process.exitValue()
          + "; stdout:\n" + stdout + "\nstderr:\n" + E2eTools.readQuietly(err));
    }
    Map<String, Object> json = Json.object(stdout);
    return new Result(
        ((Number) json.get("calls")).intValue(),
        counts(json.get("statuses")),
        counts(json.get("messages")),
        ((Number) json.get("elapsed_s")).doubleValue());
  }

  private static Map<String, Integer> counts(Object object) {
    Map<String, Integer> counts = new LinkedHashMap<>();
    ((Map<?, ?>) object).forEach((key, value) -> counts.put((String) key, ((Number) value).intValue()));
    return counts;
  }
}
