package dev.abortguard.sample.e2e;

import dev.abortguard.sample.Options.Transport;
import dev.abortguard.sample.e2e.SampleServerProcess.Scrape;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/** One sample server process under one policy, with HAProxy in front of it. */
final class ProxiedServer implements AutoCloseable {
  /** The grace every test server gets, so that lingering streams drain fast. */
  static final Duration GRACE = Duration.ofSeconds(2);
  /** How long a cell's streams may take to be released after its last call: the grace and a second. */
  static final Duration DRAIN_TIMEOUT = GRACE.plusSeconds(1);
  private static final long METRICS_POLL_MILLIS = 25;
  /** At most this many of HAProxy's lines are printed for a failing test. */
  private static final int MAX_LOG_LINES = 300;

  /** The guard configurations the tests run; each is a set of system properties for the jar. */
  enum Policy {
    DEFERRED(Map.of("abortguard.reset", "deferred", "abortguard.reset.grace", "2s"), "reset=deferred grace=2s "),
    NEVER(Map.of("abortguard.reset", "never", "abortguard.reset.grace", "2s"), "reset=never grace=2s "),
    IMMEDIATE(Map.of("abortguard.reset", "immediate", "abortguard.reset.grace", "2s"), "reset=immediate grace=2s "),
    DISABLED(Map.of("abortguard.enabled", "false"), "abortguard disabled");

    final Map<String, String> systemProperties;
    /** How the start-up line's parentheses begin for this policy. */
    final String description;

    Policy(Map<String, String> systemProperties, String description) {
      this.systemProperties = systemProperties;
      this.description = description;
    }
  }

  /** Whether a client talks to the server or to HAProxy. */
  enum Route {
    DIRECT, HAPROXY
  }

  private final Policy policy;
  private final SampleServerProcess server;
  private final HaproxyProcess haproxy;
  private int logMark;

  private ProxiedServer(Policy policy, SampleServerProcess server, HaproxyProcess haproxy) {
    this.policy = policy;
    this.server = server;
    this.haproxy = haproxy;
  }

  static ProxiedServer start(Policy policy, Path dir) throws IOException, InterruptedException {
    return start(policy, Transport.GRPC, dir);
  }

  /** A server on {@code transport} ({@code --transport}) under {@code policy}, with HAProxy in front. */
  static ProxiedServer start(Policy policy, Transport transport, Path dir) throws IOException, InterruptedException {
    // The default transport runs without the flag, as the other tests always have.
    List<String> arguments = transport == Transport.GRPC ? List.of() : List.of("--transport", transport.flagValue());
    SampleServerProcess server = SampleServerProcess.start(policy.systemProperties, arguments, dir.resolve("server"));
    try {
      if (!server.guardDescription().startsWith(policy.description)) {
        throw new IllegalStateException("started for " + policy + " but the server says: " + server.guardDescription());
      }
      if (!server.transport().equals(transport.flagValue())) {
        throw new IllegalStateException("started with --transport " + transport.flagValue()
            + " but the server says it runs " + server.transport());
      }
      return new ProxiedServer(policy, server, HaproxyProcess.start(server.port(), dir.resolve("haproxy")));
    } catch (IOException | RuntimeException | InterruptedException e) {
      server.close();
      throw e;
    }
  }

  Policy policy() {
    return policy;
  }

  SampleServerProcess server() {
    return server;
  }

  HaproxyProcess haproxy() {
    return haproxy;
  }

  String target(Route route) {
    return route == Route.DIRECT ? server.target() : haproxy.target();
  }

  /** Remembers where HAProxy's log is, so a failure prints only what was logged after it. */
  void markLog() {
    logMark = haproxy.logLines().size();
  }

  /** HAProxy's log since {@link #markLog()} and the server's output, for a failing test. */
  String describeSinceMark() {
    List<String> lines = haproxy.logLines();
    List<String> recent = lines.subList(Math.min(logMark, lines.size()), lines.size());
    String skipped = "";
    if (recent.size() > MAX_LOG_LINES) {
      skipped = "(" + (recent.size() - MAX_LOG_LINES) + " earlier lines left out)\n";
      recent = recent.subList(recent.size() - MAX_LOG_LINES, recent.size());
    }
    return "--- haproxy " + haproxy.target() + " -> " + server.target() + " (" + policy + "), log lines of this test:\n"
        + skipped + String.join("\n", recent) + "\n--- " + server.describe();
  }

  /**
   * Scrapes the metrics until {@code condition} holds or {@code timeout} passes (polling an
   * endpoint is the only way to see a counter change); returns the last scrape either way.
   */
  Scrape awaitMetrics(Predicate<Scrape> condition, Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    Scrape scrape = server.metrics();
    while (!condition.test(scrape) && System.nanoTime() < deadline) {
      Thread.sleep(METRICS_POLL_MILLIS);
      scrape = server.metrics();
    }
    return scrape;
  }

  /** Stops HAProxy, then the server; each exactly the process this started. */
  @Override
  public void close() {
    try {
      haproxy.close();
    } finally {
      server.close();
    }
  }
}
