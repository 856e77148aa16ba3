package dev.abortguard.internal.quarkus;

import dev.abortguard.AbortGuard;
import dev.abortguard.internal.Internal;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

/**
 * Makes the guard when the application starts, so a bad {@code abortguard.*} value fails the
 * start. The customizer alone is not enough: quarkus-grpc catches what fails while it builds the
 * separate server, logs "Unable to start the gRPC server" and lets the application run without it.
 */
@Internal
@Singleton
public class GuardStartup {
  void onStart(@Observes StartupEvent event, AbortGuard guard) {
    guard.config(); // the producer has run: its exception, if any, ends the start
  }
}
