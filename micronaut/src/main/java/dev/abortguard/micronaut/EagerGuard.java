package dev.abortguard.micronaut;

import dev.abortguard.AbortGuard;
import io.micronaut.context.annotation.Context;

/**
 * Resolves the application's {@link AbortGuard} when the context starts, so a bad {@code
 * abortguard.*} value stops the application at start. It resolves the bean rather than marking the
 * factory method {@code @Context}: Micronaut creates every {@code @Context} bean, a replaced one too,
 * and a second guard would register the same meters in the same registry.
 */
@Context
final class EagerGuard {
  EagerGuard(AbortGuard guard) {
    // resolving it is the point
  }
}
