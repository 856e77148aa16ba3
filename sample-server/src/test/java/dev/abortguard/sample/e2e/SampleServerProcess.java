package dev.abortguard.sample.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The sample server's fat jar run as its own process ({@code java -D... -jar sample-server.jar
 * --port 0 --metrics-port 0}), as users run it; knows its ports from the start-up line and reads its
 * Prometheus metrics.
 */
public final class SampleServerProcess implements AutoCloseable {
  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(60);
  /** SIGTERM runs a graceful shutdown of at most 5 s + 5 s; leave room beyond it. */
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);
  private static final Duration SCRAPE_TIMEOUT = Duration.ofSeconds(5);
  /** The transport the start-up line names when it names none. */
  static final String DEFAULT_TRANSPORT = "grpc";
  private static final Pattern STARTUP_LINE = Pattern.compile(
      "abortguard sample server (?:\\((?<transport>[a-z-]+)\\) )?listening on 127\\.0\\.0\\.1:(?<port>\\d+)"
          + " \\((?<guard>.*?); metrics on http://127\\.0\\.0\\.1:(?<metricsPort>\\d+)/metrics\\)");

  private final Process process;
  private final int port;
  private final int metricsPort;
  private final String guardDescription;
  private final String transport;
  private final Path stdout;
  private final Path stderr;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(SCRAPE_TIMEOUT).build();

  private SampleServerProcess(
      Process process, int port, int metricsPort, String guardDescription, String transport, Path stdout,
      Path stderr) {
    this.process = process;
    this.port = port;
    this.metricsPort = metricsPort;
    this.guardDescription = guardDescription;
    this.transport = transport;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /**
   * Starts the jar with {@code systemProperties} (e.g. {@code abortguard.reset=immediate}) and
   * returns once it has printed its start-up line.
   */
  public static SampleServerProcess start(Map<String, String> systemProperties, Path dir)
      throws IOException, InterruptedException {
    return start(systemProperties, List.of(), dir);
  }

  /**
   * Like {@link #start(Map, Path)}, with {@code arguments} (e.g. {@code --transport frame-codec})
   * after the port flags.
   */
  public static SampleServerProcess start(Map<String, String> systemProperties, List<String> arguments, Path dir)
      throws IOException, InterruptedException {
    Files.createDirectories(dir);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    systemProperties.forEach((name, value) -> command.add("-D" + name + "=" + value));
    command.addAll(List.of("-jar", E2eTools.sampleServerJar().toString(), "--port", "0", "--metrics-port", "0"));
    command.addAll(arguments);
    Path stdout = dir.resolve("server-stdout.txt");
    Path stderr = dir.resolve("server-stderr.txt");
    Process process = new ProcessBuilder(command)
        .redirectError(stderr.toFile())
        .start();
    CompletableFuture<String> firstLine = new CompletableFuture<>();
    Thread reader = new Thread(() -> copyStdout(process, stdout, firstLine), "sample-server-stdout");
    reader.setDaemon(true);
    reader.start();
    String line;
    try {
      line = firstLine.get(STARTUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      E2eTools.stop(process, STOP_TIMEOUT);
      throw new IllegalStateException("sample server " + command + " printed no start-up line within "
          + STARTUP_TIMEOUT + " (" + e + "); stderr:\n" + E2eTools.readQuietly(stderr), e);
    }
    Matcher matcher = line == null ? null : STARTUP_LINE.matcher(line);
    if (matcher == null || !matcher.matches()) {
      E2eTools.stop(process, STOP_TIMEOUT);
      throw new IllegalStateException("unexpected start-up line '" + line + "' from " + command
          + "; stderr:\n" + E2eTools.readQuietly(stderr));
    }
    String transport = matcher.group("transport") == null ? DEFAULT_TRANSPORT : matcher.group("transport");
    return new SampleServerProcess(process, Integer.parseInt(matcher.group("port")),
        Integer.parseInt(matcher.group("metricsPort")), matcher.group("guard"), transport, stdout, stderr);
  }

  public int port() {
    return port;
  }

  public String target() {
    return "127.0.0.1:" + port;
  }

  /** The port of its Prometheus scrape, {@code http://127.0.0.1:<port>/metrics}. */
  public int metricsPort() {
    return metricsPort;
  }

  /** What the start-up line says about the guard, e.g. {@code reset=deferred grace=2s ...} or {@code abortguard disabled}. */
  String guardDescription() {
    return guardDescription;
  }

  /** The transport the start-up line names, e.g. {@code grpc}, {@code frame-codec} or {@code okhttp}. */
  String transport() {
    return transport;
  }

  /** Scrapes {@code /metrics}. */
  Scrape metrics() throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
        .timeout(SCRAPE_TIMEOUT)
        .GET()
        .build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IOException("GET /metrics: HTTP " + response.statusCode() + ": " + response.body());
    }
    return Scrape.parse(response.body());
  }

  /** The server's stdout and stderr, for a failing test's output. */
  public String describe() {
    return "sample server " + target() + " (" + transport + ", " + guardDescription + ")\nstdout:\n"
        + E2eTools.readQuietly(stdout) + "stderr:\n" + E2eTools.readQuietly(stderr);
  }

  /** Stops exactly this server: SIGTERM (a graceful shutdown), SIGKILL if it takes too long. */
  @Override
  public void close() {
    E2eTools.stop(process, STOP_TIMEOUT);
  }

  /** Copies the server's stdout to a file, completing {@code firstLine} with its first line (null at EOF). */
  private static void copyStdout(Process process, Path file, CompletableFuture<String> firstLine) {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        firstLine.complete(line);
        Files.writeString(file, line + "\n", StandardCharsets.UTF_8,
            StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      }
    } catch (IOException e) {
      firstLine.completeExceptionally(e);
    } finally {
      firstLine.complete(null);
    }
  }

  /** One Prometheus text scrape: each series (name with its labels, as printed) to its value. */
  static final class Scrape {
    private final Map<String, Double> series;

    private Scrape(Map<String, Double> series) {
      this.series = series;
    }

    static Scrape parse(String text) {
      Map<String, Double> series = new LinkedHashMap<>();
      for (String line : text.split("\n")) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        // Label values may hold spaces ("G1 Eden Space"); the value is after the last one.
        int space = line.lastIndexOf(' ');
        series.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
      }
      return new Scrape(series);
    }

    /** One series' value, e.g. {@code grpc_server_streams_released_total{cause="grace_expired"}}; 0 if absent. */
    double value(String seriesName) {
      return series.getOrDefault(seriesName, 0.0);
    }

    /** The sum over every series of metric {@code name}, whatever its labels; 0 if there is none. */
    double sum(String name) {
      return series.entrySet().stream()
          .filter(e -> e.getKey().equals(name) || e.getKey().startsWith(name + "{"))
          .mapToDouble(Map.Entry::getValue)
          .sum();
    }

    /** The lines of the guard's meters ({@code grpc_server_aborts*}, {@code grpc_server_streams*}). */
    String guardLines() {
      StringBuilder out = new StringBuilder();
      series.forEach((name, value) -> {
        if (name.startsWith("grpc_server_aborts") || name.startsWith("grpc_server_streams")) {
          out.append(name).append(' ').append(value).append('\n');
        }
      });
      return out.toString();
    }
  }
}
