package dev.abortguard.probe;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One command's arguments, split into positionals, switches ({@code --tls}) and options with a
 * value ({@code --calls 5} or {@code --calls=5}). Options are given at most once unless declared
 * repeatable ({@code --header}).
 */
final class CommandLine {
  private final List<String> positionals;
  private final Set<String> switches;
  private final Map<String, List<String>> values;

  private CommandLine(List<String> positionals, Set<String> switches, Map<String, List<String>> values) {
    this.positionals = positionals;
    this.switches = switches;
    this.values = values;
  }

  /**
   * Parses {@code args}.
   *
   * @param valueOptions options that take a value
   * @param switchOptions options that take none
   * @param repeatable value options that may be given more than once
   * @throws UsageException for an unknown option, a missing value, a switch given a value or a
   *     non-repeatable option given twice
   */
  static CommandLine parse(
      String command, List<String> args, Set<String> valueOptions, Set<String> switchOptions, Set<String> repeatable)
      throws UsageException {
    List<String> positionals = new ArrayList<>();
    Set<String> switches = new LinkedHashSet<>();
    Map<String, List<String>> values = new LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (!arg.startsWith("-") || arg.equals("-")) {
        positionals.add(arg);
        continue;
      }
      String name = arg;
      String value = null;
      int eq = arg.indexOf('=');
      if (eq > 0) {
        name = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      }
      if (switchOptions.contains(name)) {
        if (value != null) {
          throw new UsageException(name + " takes no value (got '" + arg + "')");
        }
        if (!switches.add(name)) {
          throw new UsageException(name + " given more than once");
        }
        continue;
      }
      if (!valueOptions.contains(name)) {
        throw new UsageException("unknown option '" + arg + "' for " + command
            + (arg.startsWith("-D") ? " (JVM system properties go before -jar)" : ""));
      }
      if (value == null) {
        if (i + 1 == args.size()) {
          throw new UsageException(name + " needs a value");
        }
        value = args.get(++i);
      }
      List<String> list = values.computeIfAbsent(name, k -> new ArrayList<>());
      if (!list.isEmpty() && !repeatable.contains(name)) {
        throw new UsageException(name + " given more than once");
      }
      list.add(value);
    }
    return new CommandLine(Collections.unmodifiableList(positionals), switches, values);
  }

  List<String> positionals() {
    return positionals;
  }

  boolean has(String switchName) {
    return switches.contains(switchName);
  }

  /** The option's value, or null if it was not given. */
  String value(String option) {
    List<String> list = values.get(option);
    return list == null ? null : list.get(0);
  }

  /** Every value of a repeatable option, in order. */
  List<String> values(String option) {
    return values.getOrDefault(option, List.of());
  }

  /** Parses an integer option within {@code [min, max]}, or returns {@code fallback} if absent. */
  int intValue(String option, int fallback, int min, int max) throws UsageException {
    String text = value(option);
    if (text == null) {
      return fallback;
    }
    try {
      int value = Integer.parseInt(text.trim());
      if (value >= min && value <= max) {
        return value;
      }
    } catch (NumberFormatException e) {
      // reported below with the allowed range
    }
    throw new UsageException(option + ": '" + text + "' is not a whole number from " + min + " to " + max);
  }

  /**
   * Parses a duration option ({@code 250ms}, {@code 5s}) within {@code [min, max]} milliseconds, or
   * returns {@code fallbackMillis} if absent.
   */
  long durationMillis(String option, long fallbackMillis, long minMillis, long maxMillis) throws UsageException {
    String text = value(option);
    if (text == null) {
      return fallbackMillis;
    }
    String t = text.trim();
    long millis = -1;
    try {
      if (t.endsWith("ms")) {
        millis = Long.parseLong(t.substring(0, t.length() - 2));
      } else if (t.endsWith("s")) {
        millis = Long.parseLong(t.substring(0, t.length() - 1)) * 1000;
      }
    } catch (NumberFormatException e) {
      millis = -1;
    }
    if (millis < minMillis || millis > maxMillis) {
      throw new UsageException(option + ": '" + text + "' is not a duration from " + formatMillis(minMillis)
          + " to " + formatMillis(maxMillis) + " (write it with its unit, e.g. 250ms or 5s)");
    }
    return millis;
  }

  static String formatMillis(long millis) {
    return millis % 1000 == 0 ? (millis / 1000) + "s" : millis + "ms";
  }
}
