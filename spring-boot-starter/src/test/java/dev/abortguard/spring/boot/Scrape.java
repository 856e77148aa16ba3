package dev.abortguard.spring.boot;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One Prometheus text exposition, parsed into series: a metric name, its labels, a value. */
final class Scrape {
  record Series(String name, Map<String, String> labels, double value) {}

  private final List<Series> series;
  private final String text;

  private Scrape(List<Series> series, String text) {
    this.series = series;
    this.text = text;
  }

  static Scrape parse(String text) {
    List<Series> series = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int space = line.lastIndexOf(' '); // label values may hold spaces; the value follows the last
      String key = line.substring(0, space);
      double value = Double.parseDouble(line.substring(space + 1));
      int brace = key.indexOf('{');
      Map<String, String> labels = new LinkedHashMap<>();
      if (brace >= 0) {
        String body = key.substring(brace + 1, key.lastIndexOf('}'));
        int at = 0;
        while (at < body.length()) {
          int eq = body.indexOf('=', at);
          int end = body.indexOf('"', eq + 2);
          while (body.charAt(end - 1) == '\\') {
            end = body.indexOf('"', end + 1);
          }
          labels.put(body.substring(at, eq).trim(), body.substring(eq + 2, end));
          at = end + 1;
          if (at < body.length() && body.charAt(at) == ',') {
            at++;
          }
        }
      }
      series.add(new Series(brace >= 0 ? key.substring(0, brace) : key, labels, value));
    }
    return new Scrape(series, text);
  }

  /** The sum over the series of {@code name} whose labels include {@code labels} ("k", "v", ...); 0 if none. */
  double sum(String name, String... labels) {
    return series.stream()
        .filter(s -> s.name().equals(name) && matches(s.labels(), labels))
        .mapToDouble(Series::value)
        .sum();
  }

  /** The series of {@code name}, in the order the scrape lists them. */
  List<Series> series(String name) {
    return series.stream().filter(s -> s.name().equals(name)).toList();
  }

  /** The type a {@code # TYPE} line gives the metric family {@code family}, or null if none does. */
  String type(String family) {
    String prefix = "# TYPE " + family + " ";
    for (String line : text.split("\n")) {
      if (line.startsWith(prefix)) {
        return line.substring(prefix.length()).trim();
      }
    }
    return null;
  }

  /** Whether any series of {@code name} exists. */
  boolean has(String name) {
    return series.stream().anyMatch(s -> s.name().equals(name));
  }

  /** The lines of abortguard's meters, for assertion messages. */
  String guardLines() {
    StringBuilder out = new StringBuilder();
    for (String line : text.split("\n")) {
      if (line.startsWith("grpc_server_aborts") || line.startsWith("grpc_server_streams")
          || line.startsWith("abortguard_")) {
        out.append(line).append('\n');
      }
    }
    return out.toString();
  }

  private static boolean matches(Map<String, String> actual, String... wanted) {
    for (int i = 0; i < wanted.length; i += 2) {
      if (!wanted[i + 1].equals(actual.get(wanted[i]))) {
        return false;
      }
    }
    return true;
  }
}
