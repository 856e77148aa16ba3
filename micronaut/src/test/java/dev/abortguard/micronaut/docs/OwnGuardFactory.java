package dev.abortguard.micronaut.docs;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Replaces;
import io.micronaut.context.annotation.Requires;
import jakarta.inject.Singleton;
import java.time.Duration;

/** docs/micronaut.md's own-guard snippet; active only where {@link OwnGuardSnippetTest} asks for it. */
@Requires(property = OwnGuardSnippetTest.ENABLE, value = "true")
// tag::micronaut-own-guard[]
@Factory
class OwnGuardFactory {
  @Singleton
  @Replaces(AbortGuard.class)
  AbortGuard abortGuard(MeterRegistry registry) {
    return AbortGuard.builder()
        .reset(ResetPolicy.DEFERRED)
        .resetGrace(Duration.ofSeconds(2))
        .meterRegistry(registry)
        .build();
  }
}
// end::micronaut-own-guard[]
