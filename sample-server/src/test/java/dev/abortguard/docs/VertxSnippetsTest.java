package dev.abortguard.docs;

import static dev.abortguard.docs.DocServers.assertEnds;
import static dev.abortguard.docs.DocServers.awaitCount;

import dev.abortguard.AbortGuard;
import dev.abortguard.sample.DemoCalls;
import dev.abortguard.vertx.AbortGuardVertx;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The snippet of docs/vertx.md, on a free port. */
class VertxSnippetsTest {
  private final MeterRegistry meterRegistry = new SimpleMeterRegistry();
  private final Vertx vertx = Vertx.vertx();
  /** The docs' port: a free one. */
  private final int port = 0;
  /** Calls rejected at once, as an auth check would. */
  private final Handler<GrpcServerRequest<Buffer, Buffer>> myCalls =
      request -> request.response().status(GrpcStatus.PERMISSION_DENIED).end();

  @AfterEach
  void closeVertx() {
    vertx.close().toCompletionStage().toCompletableFuture().join();
  }

  @Test
  void installOnTheHttpServer() throws Exception {
    AbortGuard guard = AbortGuard.builder().meterRegistry(meterRegistry).build();

    // tag::vertx[]
    GrpcServer grpcServer = GrpcServer.server(vertx).callHandler(myCalls);
    HttpServer server = vertx.createHttpServer(new HttpServerOptions().setPort(port));
    server.requestHandler(grpcServer);
    AbortGuardVertx.install(guard, server);          // after requestHandler, before listen
    server.listen().toCompletionStage().toCompletableFuture().join();
    // end::vertx[]

    assertEnds(Status.Code.PERMISSION_DENIED, DemoCalls.channel(server.actualPort()));
    awaitCount(meterRegistry, s -> s.tag("statusCode", "PERMISSION_DENIED"), "grpc.server.aborts", 1);
  }
}
