package dev.abortguard.ops;

import dev.abortguard.sample.e2e.E2eTools;
import dev.abortguard.sample.e2e.Json;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Debian's Prometheus on 127.0.0.1: a free port, its own storage under a test directory, the rules
 * under test, and scrape and evaluation every second. Queried through its HTTP API.
 */
final class PrometheusProcess implements AutoCloseable {
  static final Duration INTERVAL = Duration.ofSeconds(1);
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
  private static final long POLL_MILLIS = 250;
  private static final int BIND_ATTEMPTS = 3;

  private final Process process;
  private final int port;
  private final Path log;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(REQUEST_TIMEOUT).build();

  private PrometheusProcess(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /**
   * Starts Prometheus loading {@code rules} and scraping {@code targets} (host:port of a
   * {@code /metrics} endpoint) as job {@code job}; returns once it answers {@code /-/ready}.
   */
  static PrometheusProcess start(Path rules, String job, List<String> targets, Path dir)
      throws IOException, InterruptedException {
    Path prometheus = OpsFiles.prometheus();
    Files.createDirectories(dir);
    Path config = dir.resolve("prometheus.yml");
    StringBuilder targetList = new StringBuilder();
    for (String target : targets) {
      targetList.append(targetList.length() == 0 ? "" : ", ").append('\'').append(target).append('\'');
    }
    Files.writeString(config, String.join("\n",
        "global:",
        "  scrape_interval: " + INTERVAL.toSeconds() + "s",
        "  scrape_timeout: " + INTERVAL.toSeconds() + "s",
        "  evaluation_interval: " + INTERVAL.toSeconds() + "s",
        "rule_files:",
        "  - '" + rules.toAbsolutePath() + "'",
        "scrape_configs:",
        "  - job_name: '" + job + "'",
        "    static_configs:",
        "      - targets: [" + targetList + "]",
        ""));
    String failures = "";
    for (int attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
      int port = E2eTools.freePort();
      Path log = dir.resolve("prometheus-" + attempt + ".log");
      Process process = new ProcessBuilder(prometheus.toString(),
              "--config.file=" + config,
              "--storage.tsdb.path=" + dir.resolve("data-" + attempt),
              "--web.listen-address=127.0.0.1:" + port)
          .redirectErrorStream(true)
          .redirectOutput(log.toFile())
          .start();
      PrometheusProcess started = new PrometheusProcess(process, port, log);
      if (E2eTools.awaitListening(port, process, READY_TIMEOUT) && started.awaitReady()) {
        return started;
      }
      started.close();
      failures += "\nattempt " + attempt + " (port " + port + "):\n" + E2eTools.readQuietly(log);
    }
    throw new IllegalStateException("prometheus did not start:" + failures);
  }

  private boolean awaitReady() throws InterruptedException {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline && process.isAlive()) {
      try {
        if (get("/-/ready").statusCode() == 200) {
          return true;
        }
      } catch (IOException notYet) {
        // still starting
      }
      Thread.sleep(POLL_MILLIS);
    }
    return false;
  }

  /** GET {@code path} on the API; the JSON's {@code data} when {@code status} is {@code success}. */
  Object api(String path) throws IOException, InterruptedException {
    HttpResponse<String> response = get(path);
    Map<String, Object> body = Json.object(response.body());
    if (response.statusCode() != 200 || !"success".equals(body.get("status"))) {
      throw new IOException("GET " + path + ": HTTP " + response.statusCode() + ": " + response.body());
    }
    return body.get("data");
  }

  /**
   * An instant query's result: its {@code resultType} and the result list (for a vector, one map
   * per series with {@code metric} and {@code value}).
   * @throws IOException naming the query when Prometheus rejects it
   */
  @SuppressWarnings("unchecked")
  Map<String, Object> query(String promql) throws IOException, InterruptedException {
    return (Map<String, Object>) api("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
  }

  /** The active alerts (pending and firing), as {@code /api/v1/alerts} lists them. */
  @SuppressWarnings("unchecked")
  List<Map<String, Object>> alerts() throws IOException, InterruptedException {
    return (List<Map<String, Object>>) ((Map<String, Object>) api("/api/v1/alerts")).get("alerts");
  }

  /**
   * Polls {@code read} every {@value #POLL_MILLIS} ms until its value passes {@code until}, for at
   * most {@code timeout}; returns the last value either way, for the caller to assert on.
   */
  <T> T poll(IoSupplier<T> read, Predicate<T> until, Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    T value = read.get();
    while (!until.test(value) && System.nanoTime() < deadline) {
      Thread.sleep(POLL_MILLIS);
      value = read.get();
    }
    return value;
  }

  /** Its log, for a failing test's message. */
  String describe() {
    return "prometheus http://127.0.0.1:" + port + ", log:\n" + E2eTools.readQuietly(log);
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(REQUEST_TIMEOUT)
        .GET()
        .build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  /** Stops exactly this Prometheus (SIGTERM, then SIGKILL) and waits, bounded, for it to exit. */
  @Override
  public void close() {
    E2eTools.stop(process, STOP_TIMEOUT);
  }

  /** A read that may fail with I/O. */
  interface IoSupplier<T> {
    T get() throws IOException, InterruptedException;
  }
}
