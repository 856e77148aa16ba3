package dev.abortguard.spring.boot;

import dev.abortguard.AbortGuardConfig;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code abortguard.*} settings, bound from the application's configuration (properties, YAML,
 * environment variables, system properties) with the values of abortguard's system properties,
 * under the names of the configuration metadata ({@code abortguard.trailers-only}, {@code
 * abortguard.lingering.max-total}); relaxed binding takes the system properties' camel-case names
 * too. Every value stays text until the guard is built, so it is parsed exactly as the system
 * property would be; a bad one fails startup naming the property as the metadata does, the value,
 * where it was set and what is allowed.
 *
 * <p>{@code abortguard.reset.grace} is not a field here: {@code abortguard.reset} is both a value
 * and the prefix of {@code abortguard.reset.grace}, which a JavaBean cannot mirror, so the
 * auto-configuration binds that one name on its own.
 */
@ConfigurationProperties(prefix = "abortguard")
public class AbortGuardProperties {
  /** Whether to guard Spring Boot's gRPC server at all: false installs nothing. Default true. */
  private String enabled;

  /**
   * What happens to a stream the server ended while the client had not: deferred (no reset unless
   * the stream outlives abortguard.reset.grace), never, or immediate (RST_STREAM(NO_ERROR) with the
   * trailers). Default deferred.
   */
  private String reset;

  /**
   * Whether to hold eagerly sent response headers back until the first message, so that an abort
   * goes out trailers-only. Default true.
   */
  private String trailersOnly;

  private final Lingering lingering = new Lingering();

  public String getEnabled() {
    return enabled;
  }

  public void setEnabled(String enabled) {
    this.enabled = enabled;
  }

  public String getReset() {
    return reset;
  }

  public void setReset(String reset) {
    this.reset = reset;
  }

  public String getTrailersOnly() {
    return trailersOnly;
  }

  public void setTrailersOnly(String trailersOnly) {
    this.trailersOnly = trailersOnly;
  }

  public Lingering getLingering() {
    return lingering;
  }

  /**
   * The bound value of one of {@link AbortGuardConfig}'s property names, or null when unset;
   * {@code resetGrace} is {@code abortguard.reset.grace}, bound apart.
   */
  String value(String property, String resetGrace) {
    switch (property) {
      case AbortGuardConfig.ENABLED:
        return enabled;
      case AbortGuardConfig.RESET:
        return reset;
      case AbortGuardConfig.RESET_GRACE:
        return resetGrace;
      case AbortGuardConfig.LINGERING_MAX:
        return lingering.max;
      case AbortGuardConfig.LINGERING_MAX_TOTAL:
        return lingering.maxTotal;
      case AbortGuardConfig.TRAILERS_ONLY:
        return trailersOnly;
      default:
        return null;
    }
  }

  /** {@code abortguard.lingering.*}: how many early-closed streams may stay open. */
  public static class Lingering {
    /**
     * Lingering streams allowed per connection; past it the eldest is reset with NO_ERROR. Keep it
     * below the connection's MAX_CONCURRENT_STREAMS. Default 1024.
     */
    private String max;

    /**
     * Lingering streams allowed across every connection of the server; past it a newly early-closed
     * stream is reset at once. Default 10000.
     */
    private String maxTotal;

    public String getMax() {
      return max;
    }

    public void setMax(String max) {
      this.max = max;
    }

    public String getMaxTotal() {
      return maxTotal;
    }

    public void setMaxTotal(String maxTotal) {
      this.maxTotal = maxTotal;
    }
  }
}
