package dev.abortguard.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ops.Dashboard.Query;
import dev.abortguard.ops.Dashboard.Variable;
import dev.abortguard.sample.e2e.CoreClient;
import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.CoreClient.Shape;
import dev.abortguard.sample.e2e.E2eTools;
import dev.abortguard.sample.e2e.NghttpxProcess;
import dev.abortguard.sample.e2e.SampleServerProcess;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rules and the dashboard against real parts: Debian's Prometheus loads
 * ops/prometheus/abortguard-rules.yml and scrapes two sample servers every second, one guarded
 * ({@code deferred}, grace {@value #GRACE}) behind nghttpx, one with the guard disabled. nghttpx
 * never ends an upstream stream after the backend's early trailers, so each aborted grpcio call
 * (one, scraped, then {@value #CALLS} more) lingers until its grace runs out. Asserted through Prometheus's HTTP API:
 * the grace alert goes pending for the guarded server, the not-installed alert for the other one
 * only, every rule evaluates, and every dashboard query is valid and returns series.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PrometheusNghttpxIT {
  static final String GRACE = "1s";
  static final int CALLS = 40;
  static final int CONCURRENCY = 4;
  static final String JOB = "sample-server";
  static final Duration ALERT_TIMEOUT = Duration.ofSeconds(60);
  static final Duration SCRAPE_TIMEOUT = Duration.ofSeconds(30);
  /** A metric name in a rule's query: ours or grpc-java's, not a recording rule's (those hold a colon). */
  static final Pattern METRIC = Pattern.compile("(?<![\\w:])((?:grpc|abortguard)_\\w+)(?![\\w:])");
  /**
   * What the rules read from exporters the sample server does not run: grpc-java's OpenTelemetry
   * server metrics, and the clients' metrics the optional client group needs.
   */
  static final Set<String> OTHER_EXPORTERS = Set.of(
      "grpc_server_call_duration_seconds_count", "grpc_client_processing_duration_seconds_count");

  private final List<AutoCloseable> started = new ArrayList<>();
  private SampleServerProcess guarded;
  private SampleServerProcess unguarded;
  private NghttpxProcess nghttpx;
  private PrometheusProcess prometheus;
  private String guardedTarget;
  private String unguardedTarget;
  private Instant firstAbort;

  @BeforeAll
  void startAndLoad(@TempDir Path dir) throws Exception {
    OpsFiles.prometheus();
    E2eTools.requireProxyTools();
    E2eTools.requireNghttpx();
    guarded = keep(SampleServerProcess.start(
        Map.of("abortguard.reset", "deferred", "abortguard.reset.grace", GRACE), dir.resolve("guarded")));
    unguarded = keep(SampleServerProcess.start(Map.of("abortguard.enabled", "false"), dir.resolve("unguarded")));
    nghttpx = keep(NghttpxProcess.start(guarded.port(), dir.resolve("nghttpx")));
    guardedTarget = "127.0.0.1:" + guarded.metricsPort();
    unguardedTarget = "127.0.0.1:" + unguarded.metricsPort();
    prometheus = keep(PrometheusProcess.start(OpsFiles.rules(), JOB, List.of(guardedTarget, unguardedTarget),
        dir.resolve("prometheus")));

    // Both targets scraped before the load, so every counter has a sample before it moves.
    String up = "up{job=\"" + JOB + "\"} == 1";
    List<Map<String, Object>> targetsUp = prometheus.poll(() -> vector(up), r -> r.size() == 2, SCRAPE_TIMEOUT);
    assertEquals(2, targetsUp.size(), "both targets up: " + targetsUp + "\n" + prometheus.describe());

    // One abort first, scraped before the load: a counter's first sample is no increase to rate(),
    // and a long-running server has its abort series long before the aborts that matter.
    CoreClient client = new CoreClient(dir.resolve("client"));
    Result first = client.run(nghttpx.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, 1, 1, "PERMISSION_DENIED");
    assertEquals(1, first.count("PERMISSION_DENIED"), first + "\n" + nghttpx.describe());
    firstAbort = Instant.now();
    String aborts = "grpc_server_aborts_total{instance=\"" + guardedTarget + "\"}";
    List<Map<String, Object>> scraped = prometheus.poll(() -> vector(aborts), r -> !r.isEmpty(), SCRAPE_TIMEOUT);
    assertEquals(1, scraped.size(), aborts + ": " + scraped + "\n" + prometheus.describe());

    Result proxied = client.run(nghttpx.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, CALLS, CONCURRENCY,
        "PERMISSION_DENIED");
    assertEquals(CALLS, proxied.count("PERMISSION_DENIED"), proxied + "\n" + nghttpx.describe());
    Result direct = client.run(unguarded.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, 10, 2, "PERMISSION_DENIED");
    assertEquals(10, direct.count("PERMISSION_DENIED"), direct.toString());
    System.out.println("through nghttpx: " + proxied + "; direct to the unguarded server: " + direct);
  }

  @AfterAll
  void stop() throws Exception {
    for (int i = started.size() - 1; i >= 0; i--) {
      started.get(i).close();
    }
  }

  @Test
  void graceAlertGoesPendingForTheServerBehindNghttpx() throws Exception {
    // Every aborted stream lingered until its grace: nghttpx ended none of them.
    String graceReleases = "sum(grpc_server_streams_released_total{cause=\"grace_expired\", instance=\"" + guardedTarget + "\"})";
    double released = prometheus.poll(() -> scalar(graceReleases), v -> v >= CALLS + 1, ALERT_TIMEOUT);
    assertEquals(CALLS + 1, released, 0.0, graceReleases + "\n" + guarded.describe());

    List<Map<String, Object>> alerts = prometheus.poll(prometheus::alerts,
        a -> !matching(a, "AbortGuardGraceReleasesRising", guardedTarget).isEmpty(), ALERT_TIMEOUT);
    List<Map<String, Object>> grace = matching(alerts, "AbortGuardGraceReleasesRising", guardedTarget);
    assertEquals(1, grace.size(), "alerts: " + alerts + "\n" + prometheus.describe());
    assertEquals("pending", grace.get(0).get("state"), "for: 15m, so pending, not firing: " + grace);
    assertEquals("grace_expired", labels(grace.get(0)).get("cause"));
    assertTrue(((String) annotations(grace.get(0)).get("runbook")).contains("nghttpx"), grace.toString());
    Instant activeAt = Instant.parse((String) grace.get(0).get("activeAt"));
    System.out.printf("grace_expired releases %.0f of %d calls; AbortGuardGraceReleasesRising pending %.1f s"
        + " after the first aborted call ended (grace %s, scrape and evaluation every %s)%n", released, CALLS + 1,
        Duration.between(firstAbort, activeAt).toMillis() / 1e3, GRACE, PrometheusProcess.INTERVAL);
  }

  @Test
  void notInstalledAlertGoesPendingForTheUnguardedServerOnly() throws Exception {
    List<Map<String, Object>> alerts = prometheus.poll(prometheus::alerts,
        a -> !matching(a, "AbortGuardNotInstalled", unguardedTarget).isEmpty(), ALERT_TIMEOUT);

    assertEquals(1, matching(alerts, "AbortGuardNotInstalled", unguardedTarget).size(), alerts.toString());
    assertEquals(List.of(), matching(alerts, "AbortGuardNotInstalled", guardedTarget), alerts.toString());
    assertEquals(List.of(), matching(alerts, "AbortGuardMisconfigured", guardedTarget), alerts.toString());
    assertEquals(List.of(), matching(alerts, "AbortGuardStreamsReleasedByBound", guardedTarget),
        "40 streams hold no bound: " + alerts);
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyRuleEvaluatesWithoutError() throws Exception {
    // A rule reads "unknown" until its group's first evaluation; groups evaluate every second.
    Map<String, Object> data = prometheus.poll(() -> (Map<String, Object>) prometheus.api("/api/v1/rules"),
        d -> !d.toString().contains("health=unknown"), SCRAPE_TIMEOUT);
    List<String> rules = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (Map<String, Object> group : (List<Map<String, Object>>) data.get("groups")) {
      for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
        rules.add((String) rule.get("name"));
        if (!"ok".equals(rule.get("health"))) {
          problems.add(rule.get("name") + ": " + rule.get("health") + " " + rule.get("lastError"));
        }
      }
    }
    assertEquals(13, rules.size(), "the rules file's 6 recording rules and 7 alerts: " + rules);
    assertEquals(List.of(), problems);
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyMetricTheRulesReadIsOneTheSampleServersExport() throws Exception {
    Map<String, Object> data = (Map<String, Object>) prometheus.api("/api/v1/rules");
    Set<String> names = new TreeSet<>();
    for (Map<String, Object> group : (List<Map<String, Object>>) data.get("groups")) {
      for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
        Matcher matcher = METRIC.matcher((String) rule.get("query"));
        while (matcher.find()) {
          names.add(matcher.group(1));
        }
      }
    }
    assertTrue(names.containsAll(OTHER_EXPORTERS), "the rules no longer read " + OTHER_EXPORTERS + ": " + names);
    names.removeAll(OTHER_EXPORTERS);

    List<String> absent = new ArrayList<>();
    for (String name : names) {
      if (vector("count({__name__=\"" + name + "\"})").isEmpty()) {
        absent.add(name);
      }
    }
    assertEquals(List.of(), absent, "metrics the rules read that no sample server exports, of " + names);
  }

  @Test
  void everyDashboardQueryIsValidAndReturnsSeries() throws Exception {
    Dashboard dashboard = Dashboard.read(OpsFiles.dashboard());
    List<Query> queries = dashboard.queries();
    // Rates need two samples of the load in their window: poll, bounded, until every query has
    // series (an invalid one never will), then report what still fails.
    List<String> failures = prometheus.poll(() -> failing(queries), List::isEmpty, SCRAPE_TIMEOUT);
    for (Variable variable : dashboard.variables()) {
      List<?> values = (List<?>) prometheus.api("/api/v1/label/" + variable.label() + "/values?match[]="
          + URLEncoder.encode(variable.match(), StandardCharsets.UTF_8));
      if (values.isEmpty()) {
        failures.add("variable " + variable.name() + ": no values for label_values(" + variable.match() + ", "
            + variable.label() + ")");
      }
    }
    System.out.println(queries.size() + " dashboard queries and " + dashboard.variables().size()
        + " variables run against Prometheus, " + failures.size() + " failed");
    assertEquals(List.of(), failures, prometheus.describe());

    // The check can fail: an invalid query and one for a series nobody exports are both reported.
    List<String> bad = failing(List.of(
        new Query("broken", "A", "rate(grpc_server_aborts_total[", "rate(grpc_server_aborts_total["),
        new Query("absent", "A", "abortguard_no_such_meter", "abortguard_no_such_meter")));
    assertEquals(2, bad.size(), bad.toString());
    assertTrue(bad.get(0).startsWith("invalid: ") && bad.get(1).startsWith("no series: "), bad.toString());
  }

  /** The queries that are invalid or return no series, each with why. */
  private List<String> failing(List<Query> queries) throws InterruptedException {
    List<String> failures = new ArrayList<>();
    for (Query query : queries) {
      try {
        Map<String, Object> result = prometheus.query(query.sent());
        if (((List<?>) result.get("result")).isEmpty()) {
          failures.add("no series: " + query);
        }
      } catch (IOException invalid) {
        failures.add("invalid: " + query + ": " + invalid.getMessage());
      }
    }
    return failures;
  }

  private <T extends AutoCloseable> T keep(T process) {
    started.add(process);
    return process;
  }

  @SuppressWarnings("unchecked")
  private List<Map<String, Object>> vector(String promql) throws IOException, InterruptedException {
    return (List<Map<String, Object>>) prometheus.query(promql).get("result");
  }

  /** The one sample of {@code promql} (which must aggregate to one series), 0 when there is none. */
  private double scalar(String promql) throws IOException, InterruptedException {
    List<Map<String, Object>> result = vector(promql);
    if (result.isEmpty()) {
      return 0;
    }
    assertEquals(1, result.size(), promql + ": " + result);
    return Double.parseDouble((String) ((List<?>) result.get(0).get("value")).get(1));
  }

  private static List<Map<String, Object>> matching(List<Map<String, Object>> alerts, String name, String instance) {
    return alerts.stream()
        .filter(a -> name.equals(labels(a).get("alertname")) && instance.equals(labels(a).get("instance")))
        .collect(Collectors.toList());
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> labels(Map<String, Object> alert) {
    return (Map<String, Object>) alert.get("labels");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> annotations(Map<String, Object> alert) {
    return (Map<String, Object>) alert.get("annotations");
  }
}
