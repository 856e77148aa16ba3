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
 * application believes otherwise.
 *
 * <p>To wire it: (1) depend on {@code abortguard-vertx}; it must support Vert.x 4.5, which Quarkus
 * 3.33 runs (4.5.27), not only 5.0. (2) quarkus-vertx-http does not hand out its {@code
 * HttpServer}, so guard per connection: the customizer only proves unified mode; the install
 * belongs on the main {@code Router} ({@code @Observes Router}), as the first route, calling
 * {@code AbortGuardVertx.guard(guard, routingContext.request().connection())} once per
 * connection (before the first gRPC stream's response is written) and then {@code next()}.
 * Whether attaching on the first request is early enough is for abortguard-vertx to say. (3)
 * Replace the throw below with the Router wiring's activation, and turn {@code
 * UnifiedServerRefusedTest} into the unified copy of {@code DeferredSeparateServerTest} (wire,
 * HAProxy, scrape) on {@code quarkus.http.test-port}.
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
