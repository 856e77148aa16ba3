package dev.abortguard.ops;

import dev.abortguard.sample.e2e.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Grafana dashboard's queries as Prometheus would receive them: every panel target's {@code
 * expr} and every query variable's {@code label_values(...)}, with Grafana's variables replaced by
 * the values Grafana would send.
 */
final class Dashboard {
  /**
   * What Grafana puts in for each variable: the built-in intervals for a 1 s scrape over a short
   * range, and "All" (the variables' allValue) for the dashboard's own.
   */
  static final Map<String, String> VALUES = Map.of(
      "__rate_interval", "1m",
      "__interval", "15s",
      "__range", "15m",
      "job", ".*",
      "instance", ".*");
  private static final Pattern VARIABLE = Pattern.compile("\\$\\{?(\\w+)(?::\\w+)?\\}?");
  private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\((.+),\\s*(\\w+)\\)");

  /** One panel target: where it is, its expr as written, and as sent. */
  record Query(String panel, String refId, String written, String sent) {
    @Override
    public String toString() {
      return "panel '" + panel + "' " + refId + ": " + sent;
    }
  }

  /** A query variable: {@code label_values(match, label)}. */
  record Variable(String name, String match, String label) {}

  private final Map<String, Object> json;

  private Dashboard(Map<String, Object> json) {
    this.json = json;
  }

  static Dashboard read(Path file) throws IOException {
    return new Dashboard(Json.object(Files.readString(file)));
  }

  Map<String, Object> json() {
    return json;
  }

  /** Every panel, rows' nested panels included. */
  List<Map<String, Object>> panels() {
    List<Map<String, Object>> panels = new ArrayList<>();
    for (Map<String, Object> panel : maps(json.get("panels"))) {
      panels.add(panel);
      panels.addAll(maps(panel.get("panels")));
    }
    return panels;
  }

  List<Query> queries() {
    List<Query> queries = new ArrayList<>();
    for (Map<String, Object> panel : panels()) {
      for (Map<String, Object> target : maps(panel.get("targets"))) {
        String expr = (String) target.get("expr");
        queries.add(new Query((String) panel.get("title"), (String) target.get("refId"), expr, substitute(expr)));
      }
    }
    return queries;
  }

  /** The query variables ({@code type: query}), their label_values parsed. */
  List<Variable> variables() {
    List<Variable> variables = new ArrayList<>();
    @SuppressWarnings("unchecked")
    Map<String, Object> templating = (Map<String, Object>) json.get("templating");
    for (Map<String, Object> variable : maps(templating.get("list"))) {
      if (!"query".equals(variable.get("type"))) {
        continue;
      }
      @SuppressWarnings("unchecked")
      String query = (String) ((Map<String, Object>) variable.get("query")).get("query");
      Matcher matcher = LABEL_VALUES.matcher(query);
      if (!matcher.matches()) {
        throw new IllegalStateException("variable " + variable.get("name") + ": not label_values(match, label): " + query);
      }
      variables.add(new Variable((String) variable.get("name"), substitute(matcher.group(1)), matcher.group(2)));
    }
    return variables;
  }

  /** {@code expr} with each {@code $name} / {@code ${name}} replaced; an unknown variable fails. */
  static String substitute(String expr) {
    Matcher matcher = VARIABLE.matcher(expr);
    StringBuilder out = new StringBuilder();
    while (matcher.find()) {
      String value = VALUES.get(matcher.group(1));
      if (value == null) {
        throw new IllegalStateException("no test value for variable $" + matcher.group(1) + " in: " + expr
            + " (add it to Dashboard.VALUES)");
      }
      matcher.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    matcher.appendTail(out);
    return out.toString();
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> maps(Object list) {
    return list == null ? List.of() : (List<Map<String, Object>>) list;
  }
}
