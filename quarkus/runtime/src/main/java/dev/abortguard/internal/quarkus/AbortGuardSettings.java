package dev.abortguard.internal.quarkus;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.internal.Internal;
import io.quarkus.runtime.annotations.ConfigPhase;
import io.quarkus.runtime.annotations.ConfigRoot;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithName;
import java.util.Optional;

/**
 * abortguard's settings as {@code application.properties} gives them: the very names of the
 * {@code abortguard.*} system properties (docs/configuration.md). Values stay text here and are
 * checked by {@link AbortGuardConfig}, so a bad one fails the start with the same message the
 * system property gives, naming the property. Unset ones fall back to the system properties.
 */
@Internal
@ConfigMapping(prefix = "abortguard")
@ConfigRoot(phase = ConfigPhase.RUN_TIME)
public interface AbortGuardSettings {
  /** {@code abortguard.enabled}: {@code false} installs nothing at all. Default {@code true}. */
  Optional<String> enabled();

  /** {@code abortguard.reset}: {@code deferred} (default), {@code never} or {@code immediate}. */
  Optional<String> reset();

  /** {@code abortguard.reset.grace}: how long a deferred reset waits for the peer, e.g. {@code 10s} (default). */
  @WithName("reset.grace")
  Optional<String> resetGrace();

  /** {@code abortguard.lingering.max}: lingering streams per connection before the oldest is reset. Default 1024. */
  @WithName("lingering.max")
  Optional<String> lingeringMax();

  /** {@code abortguard.lingering.maxTotal}: lingering streams across all connections. Default 10000. */
  @WithName("lingering.maxTotal")
  Optional<String> lingeringMaxTotal();

  /** {@code abortguard.trailersOnly}: hold eager response headers back so an abort is trailers-only. Default {@code true}. */
  @WithName("trailersOnly")
  Optional<String> trailersOnly();

  /** The value set for {@code property} (one of {@link AbortGuardConfig}'s names), or the system property's, or null. */
  default String lookup(String property) {
    Optional<String> value;
    switch (property) {
      case AbortGuardConfig.ENABLED:
        value = enabled();
        break;
      case AbortGuardConfig.RESET:
        value = reset();
        break;
      case AbortGuardConfig.RESET_GRACE:
        value = resetGrace();
        break;
      case AbortGuardConfig.LINGERING_MAX:
        value = lingeringMax();
        break;
      case AbortGuardConfig.LINGERING_MAX_TOTAL:
        value = lingeringMaxTotal();
        break;
      case AbortGuardConfig.TRAILERS_ONLY:
        value = trailersOnly();
        break;
      default:
        value = Optional.empty();
        break;
    }
    return value.orElseGet(() -> System.getProperty(property));
  }
}
