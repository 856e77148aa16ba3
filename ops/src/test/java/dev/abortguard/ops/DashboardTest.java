package dev.abortguard.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ops.Dashboard.Query;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * ops/grafana/abortguard.json's shape: the classic dashboard model at a current schema version,
 * the data source a variable every panel and query uses, the panels issue 23 asks for. That its
 * queries are valid PromQL returning series is {@link PrometheusNghttpxIT}'s job.
 */
class DashboardTest {
  static final int SCHEMA_VERSION = 41;
  static final Set<String> REQUIRED_PANELS = Set.of(
      "Aborts by status and method",
      "Share of aborts mitigated",
      "Lingering now against its bound",
      "Releases by cause",
      "Linger duration",
      "Misconfiguration");
  private static final Map<String, Object> DATASOURCE = Map.of("type", "prometheus", "uid", "${datasource}");

  private final Dashboard dashboard = read();

  private static Dashboard read() {
    try {
      return Dashboard.read(OpsFiles.dashboard());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void currentSchemaWithAStableUid() {
    Map<String, Object> json = dashboard.json();
    assertEquals((long) SCHEMA_VERSION, json.get("schemaVersion"));
    assertEquals("abortguard", json.get("uid"));
    assertNotNull(json.get("title"));
    assertEquals(null, json.get("id"), "an exported dashboard carries no instance-local id");
  }

  @Test
  void theDataSourceIsAPrometheusVariable() {
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> variables =
        (List<Map<String, Object>>) ((Map<String, Object>) dashboard.json().get("templating")).get("list");
    Map<String, Object> datasource = variables.stream()
        .filter(v -> "datasource".equals(v.get("name"))).findFirst().orElseThrow();
    assertEquals("datasource", datasource.get("type"));
    assertEquals("prometheus", datasource.get("query"));

    List<String> wrong = new ArrayList<>();
    for (Map<String, Object> variable : variables) {
      if ("query".equals(variable.get("type")) && !DATASOURCE.equals(variable.get("datasource"))) {
        wrong.add("variable " + variable.get("name"));
      }
    }
    for (Map<String, Object> panel : dashboard.panels()) {
      if ("row".equals(panel.get("type"))) {
        continue;
      }
      if (!DATASOURCE.equals(panel.get("datasource"))) {
        wrong.add("panel " + panel.get("title"));
      }
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> targets = (List<Map<String, Object>>) panel.get("targets");
      for (Map<String, Object> target : targets) {
        if (!DATASOURCE.equals(target.get("datasource"))) {
          wrong.add("panel " + panel.get("title") + " target " + target.get("refId"));
        }
      }
    }
    assertEquals(List.of(), wrong, "not on the ${datasource} variable");
  }

  @Test
  void theRequiredPanelsAreThere() {
    Set<String> titles = dashboard.panels().stream().map(p -> (String) p.get("title")).collect(Collectors.toSet());
    Set<String> missing = new HashSet<>(REQUIRED_PANELS);
    missing.removeAll(titles);
    assertEquals(Set.of(), missing);
  }

  @Test
  void panelIdsAreUniqueAndEveryPanelQueries() {
    Set<Object> ids = new HashSet<>();
    for (Map<String, Object> panel : dashboard.panels()) {
      assertTrue(ids.add(panel.get("id")), "duplicate panel id " + panel.get("id"));
      if (!"row".equals(panel.get("type"))) {
        assertFalse(((List<?>) panel.get("targets")).isEmpty(), "panel " + panel.get("title") + " has no query");
      }
    }
  }

  @Test
  void everyQueryHasEveryVariableFilledIn() {
    List<Query> queries = dashboard.queries();
    assertTrue(queries.size() >= REQUIRED_PANELS.size(), queries.toString());
    for (Query query : queries) {
      assertFalse(query.sent().contains("$"), query.toString());
    }
    assertFalse(dashboard.variables().isEmpty());
  }

  @Test
  void anUnknownVariableFailsLoudly() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> Dashboard.substitute("rate(x{pod=~\"$pod\"}[$__rate_interval])"));
    assertTrue(e.getMessage().contains("$pod"), e.getMessage());
  }
}
