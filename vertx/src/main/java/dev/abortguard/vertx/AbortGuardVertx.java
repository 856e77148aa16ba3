package dev.abortguard.vertx;

import dev.abortguard.AbortGuard;
import dev.abortguard.AbortGuardConfig;
import dev.abortguard.internal.GuardParts;
import dev.abortguard.internal.vertx.GuardedRequests;
import dev.abortguard.internal.vertx.VertxConnectionAdapter;
import dev.abortguard.internal.vertx.VertxInternals;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.util.Objects;
import java.util.logging.Logger;

/**
 * Puts an {@link AbortGuard} on a Vert.x {@link HttpServer} that serves a Vert.x {@code GrpcServer}:
 * every HTTP/2 connection follows the guard's reset policy for early-closed streams (Vert.x itself
 * leaves a stream it has answered open until the client ends it), and the server's aborts are
 * counted in the guard's meters.
 *
 * <pre>{@code
 * GrpcServer grpcServer = GrpcServer.server(vertx);
 * HttpServer server = vertx.createHttpServer(new HttpServerOptions().setPort(50051));
 * server.requestHandler(grpcServer);
 * AbortGuardVertx.install(guard, server);   // after requestHandler, before listen
 * server.listen();
 * }</pre>
 *
 * <p>{@link #install} wraps the server's request handler. Where the application owns the
 * connections another way (a framework that sets the request handler itself), {@link #guard} puts
 * the policy on one connection; it counts no aborts.
 */
public final class AbortGuardVertx {
  private static final Logger logger = Logger.getLogger("dev.abortguard");

  private AbortGuardVertx() {}

  /**
   * Wraps {@code server}'s request handler so that each request's HTTP/2 connection is guarded by
   * {@code guard} and each gRPC abort is counted, and returns {@code server}. Call it after {@code
   * server.requestHandler(grpcServer)} and before {@code listen()}. Installing the same guard again
   * changes nothing; a disabled guard installs nothing.
   *
   * @throws IllegalStateException if the server has no request handler yet, listens already, or
   *     this Vert.x lacks what the guard needs (the message names the Vert.x version)
   * @throws IllegalArgumentException if another guard is installed on {@code server} already
   */
  public static HttpServer install(AbortGuard guard, HttpServer server) {
    Objects.requireNonNull(guard, "guard");
    Objects.requireNonNull(server, "server");
    GuardParts parts = GuardParts.of(guard);
    synchronized (server) {
      Handler<HttpServerRequest> present = server.requestHandler();
      if (present instanceof GuardedRequests) {
        if (((GuardedRequests) present).parts() == parts) {
          return server;
        }
        throw new IllegalArgumentException("this HttpServer carries another AbortGuard already: one guard per server");
      }
      if (present == null) {
        throw new IllegalStateException("AbortGuardVertx.install wraps the server's request handler, and it has none "
            + "yet: call server.requestHandler(grpcServer) first, then AbortGuardVertx.install(guard, server)");
      }
      if (server.actualPort() != 0) {
        throw new IllegalStateException("the HttpServer listens already on port " + server.actualPort()
            + ": Vert.x takes no new request handler then. Call AbortGuardVertx.install(guard, server) before "
            + "listen()");
      }
      if (!parts.config().enabled()) {
        logger.info("abortguard is disabled (" + AbortGuardConfig.ENABLED + "=false): installing nothing on the "
            + "Vert.x server");
        return server;
      }
      VertxInternals.check();
      server.requestHandler(new GuardedRequests(parts, present));
    }
    return server;
  }

  /**
   * Guards one connection of a Vert.x HTTP server with {@code guard}: the streams it has open now
   * and every later one. Idempotent per connection; a connection that is not HTTP/2 and a disabled
   * guard are left alone. Call it from the server's connection handler or any request handler.
   *
   * @throws IllegalStateException if {@code connection} is not Vert.x's own, or this Vert.x lacks
   *     what the guard needs (the message names the Vert.x version)
   * @throws IllegalArgumentException if another guard guards {@code connection} already
   */
  public static void guard(AbortGuard guard, HttpConnection connection) {
    Objects.requireNonNull(guard, "guard");
    Objects.requireNonNull(connection, "connection");
    GuardParts parts = GuardParts.of(guard);
    if (!parts.config().enabled()) {
      return;
    }
    VertxConnectionAdapter.attach(VertxInternals.channel(connection), parts);
  }
}
