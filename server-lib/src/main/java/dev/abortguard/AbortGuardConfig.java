package dev.abortguard;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The guard's settings: immutable, read once from system properties and overridden by
 * {@link AbortGuard.Builder}.
 *
 * <p>A bad property value fails at creation with an {@link IllegalArgumentException} naming the
 * property, the value and what is allowed.
 */
public final class AbortGuardConfig {
  /** {@code false} installs nothing at all. */
  public static final String ENABLED = "abortguard.enabled";
  /** {@code deferred}, {@code never} or {@code immediate}; see {@link ResetPolicy}. */
  public static final String RESET = "abortguard.reset";
  /** How long a deferred reset waits for the peer: {@code 250ms}, {@code 10s}, {@code 1m}. */
  public static final String RESET_GRACE = "abortguard.reset.grace";
  /** Lingering streams allowed per connection before the oldest is reset. */
  public static final String LINGERING_MAX = "abortguard.lingering.max";
  /** Hold eagerly sent response headers back so that an abort is trailers-only. */
  public static final String TRAILERS_ONLY = "abortguard.trailersOnly";

  private static final Pattern DURATION = Pattern.compile("(\\d{1,12})(ms|s|m|h)");
  private static final Duration MIN_GRACE = Duration.ofMillis(1);
  private static final Duration MAX_GRACE = Duration.ofHours(24);
  private static final String GRACE_ALLOWED = "a duration from 1ms to 24h, such as 250ms, 10s, 1m or 1h";

  // After the constants above, which the constructor uses.
  static final AbortGuardConfig DEFAULTS =
      new AbortGuardConfig(true, ResetPolicy.DEFERRED, Duration.ofSeconds(10), 1024, true);

  private final boolean enabled;
  private final ResetPolicy reset;
  private final Duration resetGrace;
  private final int lingeringMax;
  private final boolean trailersOnly;

  AbortGuardConfig(
      boolean enabled, ResetPolicy reset, Duration resetGrace, int lingeringMax, boolean trailersOnly) {
    this.enabled = enabled;
    this.reset = Objects.requireNonNull(reset, "reset");
    this.resetGrace = requireGraceInRange(resetGrace);
    this.lingeringMax = requireAtLeastOne(LINGERING_MAX, lingeringMax);
    this.trailersOnly = trailersOnly;
  }

  /** The settings given by the {@code abortguard.*} system properties, defaults elsewhere. */
  public static AbortGuardConfig fromSystemProperties() {
    return from(System::getProperty);
  }

  /**
   * The settings given by {@code properties} (a property name to its value, or {@code null} when
   * unset), defaults elsewhere.
   */
  public static AbortGuardConfig from(Function<String, String> properties) {
    String enabled = properties.apply(ENABLED);
    String reset = properties.apply(RESET);
    String grace = properties.apply(RESET_GRACE);
    String max = properties.apply(LINGERING_MAX);
    String trailersOnly = properties.apply(TRAILERS_ONLY);
    return new AbortGuardConfig(
        enabled == null ? DEFAULTS.enabled : parseBoolean(ENABLED, enabled),
        reset == null ? DEFAULTS.reset : ResetPolicy.parse(RESET, reset),
        grace == null ? DEFAULTS.resetGrace : parseDuration(RESET_GRACE, grace),
        max == null ? DEFAULTS.lingeringMax : parseLingeringMax(max),
        trailersOnly == null ? DEFAULTS.trailersOnly : parseBoolean(TRAILERS_ONLY, trailersOnly));
  }

  public boolean enabled() {
    return enabled;
  }

  public ResetPolicy reset() {
    return reset;
  }

  public Duration resetGrace() {
    return resetGrace;
  }

  public int lingeringMax() {
    return lingeringMax;
  }

  public boolean trailersOnly() {
    return trailersOnly;
  }

  AbortGuardConfig withEnabled(boolean value) {
    return new AbortGuardConfig(value, reset, resetGrace, lingeringMax, trailersOnly);
  }

  AbortGuardConfig withReset(ResetPolicy value) {
    return new AbortGuardConfig(enabled, value, resetGrace, lingeringMax, trailersOnly);
  }

  AbortGuardConfig withResetGrace(Duration value) {
    return new AbortGuardConfig(enabled, reset, value, lingeringMax, trailersOnly);
  }

  AbortGuardConfig withLingeringMax(int value) {
    return new AbortGuardConfig(enabled, reset, resetGrace, value, trailersOnly);
  }

  AbortGuardConfig withTrailersOnly(boolean value) {
    return new AbortGuardConfig(enabled, reset, resetGrace, lingeringMax, value);
  }

  /** One line for start-up logs, e.g. {@code reset=deferred grace=10s lingering.max=1024 ...}. */
  @Override
  public String toString() {
    return "enabled=" + enabled + " reset=" + reset.value() + " grace=" + format(resetGrace)
        + " lingering.max=" + lingeringMax + " trailersOnly=" + trailersOnly;
  }

  static String format(Duration duration) {
    if (duration.getNano() % 1_000_000 != 0) {
      return duration.toNanos() + "ns";
    }
    long millis = duration.toMillis();
    if (millis % 60_000 == 0) {
      return millis / 60_000 + "m";
    }
    return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
  }

  static IllegalArgumentException invalid(String property, String value, String allowed) {
    return new IllegalArgumentException(
        "Invalid value '" + value + "' for " + property + ": expected " + allowed);
  }

  private static boolean parseBoolean(String property, String text) {
    switch (text.trim().toLowerCase(Locale.ROOT)) {
      case "true":
        return true;
      case "false":
        return false;
      default:
        throw invalid(property, text, "true or false");
    }
  }

  private static Duration parseDuration(String property, String text) {
    Matcher m = DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw invalid(property, text, GRACE_ALLOWED);
    }
    long amount = Long.parseLong(m.group(1));
    Duration duration;
    switch (m.group(2)) {
      case "ms":
        duration = Duration.ofMillis(amount);
        break;
      case "s":
        duration = Duration.ofSeconds(amount);
        break;
      case "m":
        duration = Duration.ofMinutes(amount);
        break;
      default:
        duration = Duration.ofHours(amount);
        break;
    }
    if (duration.compareTo(MIN_GRACE) < 0 || duration.compareTo(MAX_GRACE) > 0) {
      throw invalid(property, text, GRACE_ALLOWED);
    }
    return duration;
  }

  private static int parseLingeringMax(String text) {
    String allowed = "a whole number from 1 to " + Integer.MAX_VALUE;
    try {
      int value = Integer.parseInt(text.trim());
      if (value >= 1) {
        return value;
      }
    } catch (NumberFormatException e) {
      // reported below with the property's name
    }
    throw invalid(LINGERING_MAX, text, allowed);
  }

  // The grace becomes nanoseconds per connection; bounding it keeps that exact and sane.
  private static Duration requireGraceInRange(Duration value) {
    Objects.requireNonNull(value, RESET_GRACE);
    if (value.compareTo(MIN_GRACE) < 0 || value.compareTo(MAX_GRACE) > 0) {
      throw invalid(RESET_GRACE, value.toString(), GRACE_ALLOWED);
    }
    return value;
  }

  private static int requireAtLeastOne(String property, int value) {
    if (value < 1) {
      throw invalid(property, Integer.toString(value), "a whole number from 1 to " + Integer.MAX_VALUE);
    }
    return value;
  }
}
