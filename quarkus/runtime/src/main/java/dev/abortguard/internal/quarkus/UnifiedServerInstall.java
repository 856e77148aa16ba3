package dev.abortguard.internal.quarkus;

import dev.abortguard.AbortGuard;
import dev.abortguard.internal.Internal;
import io.quarkus.grpc.runtime.config.GrpcServerConfiguration;
import io.vertx.grpc.server.GrpcServerOptions;

/**
 * WIRING POINT for the unified Vert.x gRPC server ({@code quarkus.grpc.server.use-separate-server=false}).
 *
 * <p>In unified mode quarkus-grpc serves gRPC on Quarkus's main Vert.x {@code HttpServer}, which
 * {@code abortguard-vertx} guards ({@code AbortGuardVertx.install(guard, httpServer)}, or {@code
 * guard(guard, connection)} per connection). That module is not on this branch yet, so until it
 * is wired here the start fails, loudly, rather than leave the server unguarded while the
 * application believes otherwise. To wire it: depend on {@code abortguard-vertx}, obtain the
 * main HTTP server's connections (quarkus-vertx-http's {@code HttpServerStart} event/ or a
 * connection handler on the {@code Router}'s server), call the install there, and replace the
 * throw below.
 */
@Internal
public final class UnifiedServerInstall {
  static final String MESSAGE = "abortguard-quarkus does not guard the unified Vert.x gRPC server yet "
      + "(quarkus.grpc.server.use-separate-server=false): abortguard-vertx is not wired into this extension. "
      + "Fix: set quarkus.grpc.server.use-separate-server=true (the separate grpc-java server, which abortguard "
      + "guards), or set abortguard.enabled=false to run the unified server unguarded.";

  private UnifiedServerInstall() {}

  /**
   * Guards the unified server; today it refuses, naming what is missing.
   *
   * @throws IllegalStateException always, until abortguard-vertx is wired here
   */
  static void install(AbortGuard guard, GrpcServerConfiguration config, GrpcServerOptions options) {
    throw new IllegalStateException(MESSAGE);
  }
}
