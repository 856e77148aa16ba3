package dev.abortguard.internal.quarkus;

import dev.abortguard.AbortGuard;
import dev.abortguard.internal.Internal;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

/**
 * Makes the application's one {@link AbortGuard} from {@code abortguard.*}; it records into the
 * application's {@link MeterRegistry} when quarkus-micrometer provides one, and records nothing
 * otherwise (the guard works the same). Applications may inject it, e.g. to read its settings.
 */
@Internal
@Singleton
public class GuardProducer {
  private static final Logger logger = Logger.getLogger("dev.abortguard");

  @Produces
  @Singleton
  AbortGuard abortGuard(AbortGuardSettings settings, Instance<MeterRegistry> registries) {
    AbortGuard.Builder builder = AbortGuard.builder().properties(settings::lookup);
    // A bad value throws here, naming the property: the application does not start.
    boolean metered = registries.isResolvable();
    if (metered) {
      builder.meterRegistry(registries.get());
    }
    AbortGuard guard = builder.build();
    logger.infof("abortguard: %s, meters %s", guard.config(),
        metered ? "to the application's MeterRegistry" : "off (no quarkus-micrometer registry)");
    return guard;
  }
}
