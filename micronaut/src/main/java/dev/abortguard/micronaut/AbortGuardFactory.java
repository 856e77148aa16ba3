package dev.abortguard.micronaut;

import dev.abortguard.AbortGuard;
import dev.abortguard.AbortGuardConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.BeanProvider;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Secondary;
import io.micronaut.context.env.Environment;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The application's {@link AbortGuard}, from the {@code abortguard.*} properties, recording into the
 * application's Micrometer {@link MeterRegistry} when there is one (micronaut-micrometer's primary,
 * composite registry). Created with the context (by {@link EagerGuard}), so a bad value stops the
 * application at start, before any server is built. It is {@link Secondary}: an {@code AbortGuard}
 * bean of the application's (with or without {@code @Replaces(AbortGuard.class)}) is the one used,
 * and this one is never built.
 */
@Factory
class AbortGuardFactory {
  private static final Logger logger = LoggerFactory.getLogger(AbortGuardFactory.class);

  @Singleton
  @Secondary
  AbortGuard abortGuard(Environment environment, BeanProvider<MeterRegistry> meterRegistry) {
    AbortGuard.Builder builder = AbortGuard.builder().properties(new AbortGuardSettings(environment).validated());
    MeterRegistry registry = meterRegistry.isPresent() ? meterRegistry.get() : null;
    if (registry != null) {
      builder.meterRegistry(registry);
    }
    AbortGuard guard = builder.build();
    logger.info(guard.config().enabled()
        ? "abortguard: " + guard.config() + (registry == null ? " (no MeterRegistry bean: no metrics)" : "")
        : "abortguard is disabled (" + AbortGuardSettings.kebab(AbortGuardConfig.ENABLED)
            + "=false): the gRPC server is left as it is");
    return guard;
  }
}
