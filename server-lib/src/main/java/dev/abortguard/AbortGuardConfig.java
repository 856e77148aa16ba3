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
  /**
   * Lingering streams allowed across every connection the guard serves; past it a newly
   * early-closed stream is reset at once.
   */
  public static final String LINGERING_MAX_TOTAL = "abortguard.lingering.maxTotal";
  /** Hold eagerly sent response headers back so that an abort is trailers-only. */
  public static final String TRAILERS_ONLY = "abortguard.trailersOnly";

  private static final Pattern DURATION = Pattern.compile("(\\d{1,12})(ms|s|m|h)");
  private static final Duration MIN_GRACE = Duration.ofMillis(1);
  private static final Duration MAX_GRACE = Duration.ofHours(24);
  private static final String GRACE_ALLOWED = "a duration from 1ms to 24h, such as 250ms, 10s, 1m or 1h";

  // After the constants above, which the constructor uses.
  static final AbortGuardConfig DEFAULTS =
      new AbortGuardConfig(true, ResetPolicy.DEFERRED, Duration.ofSeconds(10), 1024, 10_000, true);

  private final boolean enabled;
  private final ResetPolicy reset;
  private final Duration resetGrace;
  private final int lingeringMax;
  private final int lingeringMaxTotal;
  private final boolean trailersOnly;

  AbortGuardConfig(boolean enabled, ResetPolicy reset, Duration resetGrace, int lingeringMax,
      int lingeringMaxTotal, boolean trailersOnly) {
    this.enabled = enabled;
    this.reset = Objects.requireNonNull(reset, "reset");
    this.resetGrace = requireGraceInRange(resetGrace);
    this.lingeringMax = requireAtLeastOne(LINGERING_MAX, lingeringMax);
    this.lingeringMaxTotal = requireAtLeastOne(LINGERING_MAX_TOTAL, lingeringMaxTotal);
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
    String maxTotal = properties.apply(LINGERING_MAX_TOTAL);
    String trailersOnly = properties.apply(TRAILERS_ONLY);
    return new AbortGuardConfig(
        enabled == null ? DEFAULTS.enabled : parseBoolean(ENABLED, enabled),
        reset == null ? DEFAULTS.reset : ResetPolicy.parse(RESET, reset),
        grace == null ? DEFAULTS.resetGrace : parseDuration(RESET_GRACE, grace),
        max == null ? DEFAULTS.lingeringMax : parseCount(LINGERING_MAX, max),
        maxTotal == null ? DEFAULTS.lingeringMaxTotal : parseCount(LINGERING_MAX_TOTAL, maxTotal),
        trailersOnly == null ? DEFAULTS.trailersOnly : parseBoolean(TRAILERS_ONLY, trailersOnly));
  }

  /** {@value #ENABLED}: whether the guard installs anything. */
  public boolean enabled() {
    return enabled;
  }

  /** {@value #RESET}: what happens to early-closed streams. */
  public ResetPolicy reset() {
    return reset;
  }

  /** {@value #RESET_GRACE}: how long {@code deferred} waits for the peer. */
  public Duration resetGrace() {
    return resetGrace;
  }

  /** {@value #LINGERING_MAX}: lingering streams per connection. */
  public int lingeringMax() {
    return lingeringMax;
  }

  /** {@value #LINGERING_MAX_TOTAL}: lingering streams across every connection the guard serves. */
  public int lingeringMaxTotal() {
    return lingeringMaxTotal;
  }

  /** {@value #TRAILERS_ONLY}: hold eager response headers back until the first message. */
  public boolean trailersOnly() {
    return trailersOnly;
  }

  AbortGuardConfig withEnabled(boolean value) {
    return new AbortGuardConfig(value, reset, resetGrace, lingeringMax, lingeringMaxTotal, trailersOnly);
  }

  AbortGuardConfig withReset(ResetPolicy value) {
    return new AbortGuardConfig(enabled, value, resetGrace, lingeringMax, lingeringMaxTotal, trailersOnly);
  }

  AbortGuardConfig withResetGrace(Duration value) {
    return new AbortGuardConfig(enabled, reset, value, lingeringMax, lingeringMaxTotal, trailersOnly);
  }

  AbortGuardConfig withLingeringMax(int value) {
    return new AbortGuardConfig(enabled, reset, resetGrace, value, lingeringMaxTotal, trailersOnly);
  }

  AbortGuardConfig withLingeringMaxTotal(int value) {
    return new AbortGuardConfig(enabled, reset, resetGrace, lingeringMax, value, trailersOnly);
  }

  AbortGuardConfig withTrailersOnly(boolean value) {
    return new AbortGuardConfig(enabled, reset, resetGrace, lingeringMax, lingeringMaxTotal, value);
  }

  /** One line for start-up logs, e.g. {@code reset=deferred grace=10s lingering.max=1024 ...}. */
  @Override
  public String toString() {
    return "enabled=" + enabled + " reset=" + reset.value() + " grace=" + format(resetGrace)
        + " lingering.max=" + lingeringMax + " lingering.maxTotal=" + lingeringMaxTotal
        + " trailersOnly=" + trailersOnly;
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

  private static int parseCount(String property, String text) {
    String allowed = "a whole number from 1 to " + Integer.MAX_VALUE;
    try {
      int value = Integer.parseInt(text.trim());
      if (value >= 1) {
        return value;
      }
    } catch (NumberFormatException e) {
      // reported below with the property's name
    }
    throw invalid(property, text, allowed);
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
