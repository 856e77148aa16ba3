package dev.abortguard.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ops.Promtool.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ops/prometheus/abortguard-rules.yml through Debian's promtool: it loads, its unit tests
 * (synthetic series, tests/abortguard-rules.test.yml) pass, each alert has a firing and a
 * not-firing case, and each alert's runbook link lands on its section of docs/operations.md.
 */
class PromtoolRulesTest {
  private static final Pattern ALERT = Pattern.compile("(?m)^\\s*- alert: (\\w+)$");
  private static final Pattern RECORD = Pattern.compile("(?m)^\\s*- record: (\\S+)$");
  private static final Pattern CASE = Pattern.compile("(?m)^\\s*alertname: (\\w+)\\n\\s*exp_alerts:(.*)$");
  private static final Pattern RUNBOOK_URL = Pattern.compile(
      "runbook_url: https://github.com/abortguard/abortguard/blob/main/docs/operations.md#(\\S+)");
  private static final List<String> ANNOTATIONS = List.of("summary", "description", "runbook", "runbook_url");

  @TempDir Path dir;

  @Test
  void rulesLoad() throws Exception {
    Path rules = OpsFiles.rules();
    Run run = Promtool.run(rules.getParent(), dir.resolve("check.log"), "check", "rules", rules.toString());

    assertEquals(0, run.exitCode(), run.toString());
    String text = Files.readString(rules);
    int count = count(ALERT, text) + count(RECORD, text);
    assertTrue(run.output().contains("SUCCESS: " + count + " rules found"), run.toString());
  }

  @Test
  void unitTestsPass() throws Exception {
    Path tests = OpsFiles.rulesTests();
    Run run = Promtool.run(tests.getParent(), dir.resolve("test.log"), "test", "rules", tests.toString());

    assertEquals(0, run.exitCode(), run.toString());
    assertTrue(run.output().contains("SUCCESS"), run.toString());
    assertFalse(run.output().contains("FAILED"), run.toString());
  }

  @Test
  void aBrokenRuleFailsTheCheck() throws Exception {
    // The check above can fail: the same rules with one expression broken do not load.
    String rules = Files.readString(OpsFiles.rules());
    String broken = rules.replaceFirst("expr: sum by \\(job, instance, cause\\)", "expr: sum by (job, instance, cause");
    assertNotEquals(rules, broken, "the rule this test breaks is gone; pick another");
    Path file = dir.resolve("broken-rules.yml");
    Files.writeString(file, broken);

    Run run = Promtool.run(dir, dir.resolve("broken.log"), "check", "rules", file.toString());

    assertNotEquals(0, run.exitCode(), run.toString());
  }

  @Test
  void everyAlertHasAFiringAndANotFiringCase() throws Exception {
    Set<String> alerts = alerts();
    Map<String, Set<String>> cases = new LinkedHashMap<>();
    Matcher matcher = CASE.matcher(Files.readString(OpsFiles.rulesTests()));
    while (matcher.find()) {
      String kind = matcher.group(2).trim().equals("[]") ? "not firing" : "firing";
      cases.computeIfAbsent(matcher.group(1), a -> new LinkedHashSet<>()).add(kind);
    }

    List<String> missing = new ArrayList<>();
    for (String alert : alerts) {
      for (String kind : List.of("firing", "not firing")) {
        if (!cases.getOrDefault(alert, Set.of()).contains(kind)) {
          missing.add(alert + " (" + kind + ")");
        }
      }
    }
    assertEquals(List.of(), missing, "alerts without a unit test case in " + OpsFiles.rulesTests());
    assertEquals(alerts, cases.keySet(), "the unit tests name exactly the rules' alerts");
  }

  @Test
  void everyAlertHasARunbookAndItsSectionInTheDocs() throws Exception {
    String rules = Files.readString(OpsFiles.rules());
    String operations = Files.readString(OpsFiles.dir().resolve("../docs/operations.md"));
    List<String> problems = new ArrayList<>();
    for (String alert : alerts()) {
      String block = alertBlock(rules, alert);
      for (String annotation : ANNOTATIONS) {
        if (!block.contains("\n          " + annotation + ":")) {
          problems.add(alert + ": no " + annotation + " annotation");
        }
      }
      Matcher url = RUNBOOK_URL.matcher(block);
      if (!url.find() || !url.group(1).equals(alert.toLowerCase())) {
        problems.add(alert + ": runbook_url is not docs/operations.md#" + alert.toLowerCase());
      }
      if (!operations.contains("\n### " + alert + "\n")) {
        problems.add(alert + ": docs/operations.md has no '### " + alert + "' section");
      }
    }
    assertEquals(List.of(), problems);
  }

  private static Set<String> alerts() throws Exception {
    Set<String> alerts = new LinkedHashSet<>();
    Matcher matcher = ALERT.matcher(Files.readString(OpsFiles.rules()));
    while (matcher.find()) {
      alerts.add(matcher.group(1));
    }
    assertFalse(alerts.isEmpty(), "no alerts found in " + OpsFiles.rules());
    return alerts;
  }

  /** The rules file's text from {@code - alert: name} to the next rule. */
  private static String alertBlock(String rules, String alert) {
    int start = rules.indexOf("- alert: " + alert + "\n");
    int next = rules.indexOf("\n      - ", start + 1);
    int group = rules.indexOf("\n  - name:", start + 1);
    int end = next < 0 ? rules.length() : next;
    if (group >= 0 && group < end) {
      end = group;
    }
    return rules.substring(start, end);
  }

  private static int count(Pattern pattern, String text) {
    Matcher matcher = pattern.matcher(text);
    int count = 0;
    while (matcher.find()) {
      count++;
    }
    return count;
  }
}
