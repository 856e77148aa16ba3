package dev.abortguard.micronaut.docs;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Requires;
import jakarta.inject.Singleton;

/** An application guard bean without {@code @Replaces}: it still wins over the properties' guard. */
@Requires(property = OwnGuardSnippetTest.PLAIN, value = "true")
@Factory
class PlainGuardBean {
  @Singleton
  AbortGuard abortGuard() {
    return AbortGuard.builder().reset(ResetPolicy.NEVER).build();
  }
}
