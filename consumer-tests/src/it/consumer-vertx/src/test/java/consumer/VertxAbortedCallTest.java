package consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.AbortGuard;
import dev.abortguard.vertx.AbortGuardVertx;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A Vert.x user's first test: the docs' install line, one aborted call over h2c that the client leaves open, the meters and the grace reset. */
class VertxAbortedCallTest {
  @Test
  void oneAbortedCallThroughTheGuardedVertxServer() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AbortGuard guard = AbortGuard.builder().resetGrace(Duration.ofMillis(200)).meterRegistry(registry).build();
    Vertx vertx = Vertx.vertx();
    try {
      GrpcServer grpcServer = GrpcServer.server(vertx)
          .callHandler(request -> request.response().status(GrpcStatus.PERMISSION_DENIED).end());
      HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0));
      server.requestHandler(grpcServer);
      AbortGuardVertx.install(guard, server);
      server.listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);

      // A plain Vert.x HTTP/2 client (h2c with prior knowledge) is enough to make a gRPC call.
      String status = vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
              .setHttp2ClearTextUpgrade(false))
          .request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(server.actualPort())
              .setURI("/consumer.Echo/Bidi").putHeader("content-type", "application/grpc").putHeader("te", "trailers"))
          // Headers only: the client leaves its side open, so the abort early-closes the stream.
          .compose(request -> request.sendHead().compose(v -> request.response()))
          .map(response -> response.getHeader("grpc-status"))
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals("7", status, "PERMISSION_DENIED, trailers-only");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      double aborts;
      while ((aborts = registry.find("grpc.server.aborts").tag("statusCode", "PERMISSION_DENIED").counters().stream()
          .mapToDouble(c -> c.count()).sum()) < 1 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertEquals(1.0, aborts, registry.getMetersAsString());
      // The HTTP/2 adapter: the stream lingered, and the guard reset it after the 200 ms grace.
      double released;
      while ((released = registry.find("grpc.server.streams.released").tag("cause", "grace_expired").counters()
          .stream().mapToDouble(c -> c.count()).sum()) < 1 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertEquals(1.0, released, registry.getMetersAsString());
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }
}
