package dev.abortguard.internal.quarkus;

import dev.abortguard.AbortGuard;
import dev.abortguard.internal.GuardParts;
import dev.abortguard.internal.Internal;
import dev.abortguard.internal.vertx.GuardedRequests;
import dev.abortguard.internal.vertx.VertxInternals;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.logging.Logger;

/**
 * Guards the unified Vert.x gRPC server ({@code quarkus.grpc.server.use-separate-server=false}),
 * on which quarkus-grpc serves gRPC from a route of Quarkus's main {@link Router}. quarkus-vertx-http
 * does not hand out its {@code HttpServer}, so the guard goes on per request, from a route of its own
 * that comes before every other (order {@link Integer#MIN_VALUE}; quarkus-grpc adds its gRPC route
 * with the default order, and its security routes at -200): for each HTTP/2 gRPC request it guards
 * the request's connection (idempotent per connection; the streams already open are taken into
 * account) and counts the call's abort through abortguard-vertx's call layer, then passes the
 * request on. The route is added when Quarkus fires its {@code Router}, in either server mode, and
 * does nothing until quarkus-grpc tells the customizer the server is unified ({@link #install}).
 */
@Internal
@Singleton
public class UnifiedServerInstall {
  private static final Logger logger = Logger.getLogger("dev.abortguard");
  static final String ROOT_PATH = "quarkus.http.root-path";

  private volatile boolean routed;
  /** Null until unified mode is proven: the route then has nothing to do. */
  private volatile GuardedRequests requests;

  void addRoute(@Observes Router router) {
    router.route().order(Integer.MIN_VALUE).handler(this::handle);
    routed = true;
  }

  private void handle(RoutingContext ctx) {
    GuardedRequests active = requests;
    if (active != null && isGrpc(ctx.request())) {
      // Guards the connection (HTTP/2; over HTTP/1.x it logs once that gRPC needs HTTP/2) and counts the
      // abort. Vert.x Web owns the response's one endHandler slot: the end is watched through its list.
      active.observe(ctx.request(), onEnd -> ctx.addEndHandler(result -> onEnd.handle(null)));
    }
    ctx.next();
  }

  /**
   * Turns the route on for {@code guard}; quarkus-grpc calls the customizer that calls this in
   * unified mode only, before the server takes requests.
   *
   * @throws IllegalStateException if the route cannot see quarkus-grpc's requests (a {@code
   *     quarkus.http.root-path} other than {@code /}), or Vert.x lacks what abortguard-vertx needs:
   *     the start fails rather than run unguarded unnoticed ({@link #checkRouted} checks the route)
   */
  void install(AbortGuard guard) {
    String rootPath = ConfigProvider.getConfig().getOptionalValue(ROOT_PATH, String.class).orElse("/");
    if (!rootPath.isEmpty() && !rootPath.equals("/")) {
      // quarkus-grpc then routes gRPC on the outer router, which the fired Router (the root-path one) never sees.
      throw new IllegalStateException("abortguard-quarkus guards the unified Vert.x gRPC server only with "
          + ROOT_PATH + "=/ (found '" + rootPath + "'): quarkus-grpc serves gRPC outside the root path, where "
          + "abortguard's route does not run. Fix: leave " + ROOT_PATH + " unset, set "
          + "quarkus.grpc.server.use-separate-server=true (the separate grpc-java server, which abortguard guards), "
          + "or set abortguard.enabled=false to run the unified server unguarded.");
    }
    VertxInternals.check(); // fails here, naming the Vert.x version, if the one internal seam is missing
    requests = new GuardedRequests(GuardParts.of(guard), null);
    logger.infof("abortguard: guarding the unified Vert.x gRPC server (reset=%s)", guard.config().reset().value());
  }

  /**
   * Once the application has started, the route must be there: quarkus-grpc may build the unified
   * server before or after Quarkus fires its {@code Router} (the order of their build steps depends
   * on the application's extensions), but never serves before the start.
   *
   * @throws IllegalStateException if unified mode was proven and no {@code Router} was fired
   */
  void checkRouted(@Observes StartupEvent event) {
    if (requests != null && !routed) {
      throw new IllegalStateException("abortguard-quarkus found no Vert.x Router to put its route on, so the "
          + "unified gRPC server would run unguarded. Fix: set quarkus.grpc.server.use-separate-server=true, "
          + "or abortguard.enabled=false.");
    }
  }

  private static boolean isGrpc(HttpServerRequest request) {
    String contentType = request.getHeader("content-type");
    return contentType != null && contentType.startsWith("application/grpc");
  }
}
