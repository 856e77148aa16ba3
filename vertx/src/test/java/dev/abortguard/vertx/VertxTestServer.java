package dev.abortguard.vertx;

import dev.abortguard.AbortGuard;
import dev.abortguard.testing.GuardMeters;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.TestServers;
import dev.abortguard.testing.TestTls;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * A Vert.x {@code GrpcServer} on 127.0.0.1 serving the shared test service ({@link TestServers}:
 * Unary, ClientStream and Bidi echoes under {@code test.Echo}, and an abort with the status named by
 * the {@code x-test-abort} header before any message), stock or guarded by {@link
 * AbortGuardVertx#install}, recording into {@link #registry}.
 */
final class VertxTestServer implements AutoCloseable, GuardMeters {
  /** One Vert.x for every test server of the run: its event loops are cheap to share. */
  static final Vertx VERTX = Vertx.vertx();

  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final AbortGuard guard;
  final HttpServer server;
  private final boolean tls;
  private final java.util.List<io.vertx.core.http.HttpConnection> connections =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  private VertxTestServer(UnaryOperator<AbortGuard.Builder> guardOptions, boolean tls,
      Consumer<HttpServerOptions> options) {
    this.tls = tls;
    this.guard = guardOptions == null
        ? null
        : guardOptions.apply(AbortGuard.builder().properties(name -> null).meterRegistry(registry)).build();
    HttpServerOptions serverOptions = new HttpServerOptions().setHost("127.0.0.1").setPort(0)
        .setHttp2ClearTextEnabled(true);
    if (tls) {
      serverOptions.setSsl(true).setUseAlpn(true).setKeyCertOptions(new PemKeyCertOptions()
          .setCertValue(read(TestTls.certificate())).setKeyValue(read(TestTls.privateKey())));
    }
    options.accept(serverOptions);
    this.server = VERTX.createHttpServer(serverOptions);
    server.connectionHandler(connections::add);
    server.requestHandler(grpcServer());
    if (guard != null) {
      AbortGuardVertx.install(guard, server);
    }
    await(server.listen().toCompletionStage().toCompletableFuture());
  }

  /** The test service on a Vert.x GrpcServer, by method name, on raw message bytes. */
  static GrpcServer grpcServer() {
    GrpcServer grpc = GrpcServer.server(VERTX);
    grpc.callHandler(request -> serve(request));
    return grpc;
  }

  static void serve(GrpcServerRequest<Buffer, Buffer> request) {
    String abort = request.headers().get(TestServers.ABORT_HEADER);
    if (abort != null) {
      // Vert.x's statusMessage() percent-encodes spaces (legal, and clients decode it); the shared
      // expectations compare the raw text, so the test service sets the header itself.
      request.response().headers().set("grpc-message", TestServers.ABORT_DESCRIPTION);
      request.response()
          .status(GrpcStatus.valueOf(Status.Code.valueOf(abort).value()))
          .end();
      return;
    }
    switch (request.methodName()) {
      case "Unary":
        request.handler(message -> request.response().end(message));
        break;
      case "ClientStream": {
        Buffer all = Buffer.buffer();
        request.handler(all::appendBuffer);
        request.endHandler(v -> request.response().end(all));
        break;
      }
      case "Bidi":
        request.handler(message -> request.response().write(message));
        request.endHandler(v -> request.response().end());
        break;
      case "AbortOnMessage":
        // TestServers.ABORT_ON_MESSAGE: aborts when its first message arrives (after a GOAWAY, say).
        boolean[] aborted = {false};
        request.handler(message -> {
          if (!aborted[0]) {
            aborted[0] = true;
            request.response().headers().set("grpc-message", TestServers.ABORT_DESCRIPTION);
            request.response().status(GrpcStatus.PERMISSION_DENIED).end();
          }
        });
        break;
      case "Late":
        // Answers its first message 100 ms later, whatever the client did meanwhile (it may have
        // reset the stream): the late write of an application that has not noticed the reset.
        request.handler(message -> VERTX.setTimer(100, t -> {
          request.response().write(message);
          request.response().end();
        }));
        request.exceptionHandler(e -> { });
        request.response().exceptionHandler(e -> { });
        break;
      default:
        request.response().status(GrpcStatus.UNIMPLEMENTED).end();
    }
  }

  /** A guarded plaintext (h2c) server; {@code guardOptions} configures a builder that reads no system properties. */
  static VertxTestServer start(UnaryOperator<AbortGuard.Builder> guardOptions) {
    return new VertxTestServer(guardOptions, false, o -> { });
  }

  /** Like {@link #start}, with more server options ({@code guardOptions} null: stock). */
  static VertxTestServer start(UnaryOperator<AbortGuard.Builder> guardOptions, Consumer<HttpServerOptions> options) {
    return new VertxTestServer(guardOptions, false, options);
  }

  /** Over TLS with ALPN and the test certificate ({@code guardOptions} null: stock). */
  static VertxTestServer startTls(UnaryOperator<AbortGuard.Builder> guardOptions) {
    return new VertxTestServer(guardOptions, true, o -> { });
  }

  /** A stock Vert.x gRPC server: no guard at all. */
  static VertxTestServer startStock() {
    return start(null);
  }

  @Override
  public MeterRegistry registry() {
    return registry;
  }

  int port() {
    return server.actualPort();
  }

  RawHttp2Client connect() {
    return tls ? RawHttp2Client.connectTls("127.0.0.1", port()) : RawHttp2Client.connect("127.0.0.1", port());
  }

  /** The server's connections, as Vert.x handed them to its connection handler. */
  java.util.List<io.vertx.core.http.HttpConnection> connections() {
    return connections;
  }

  /**
   * Streams open on the server's connections, as Netty counts them under Vert.x (read on each
   * connection's event loop): what a peer holds against MAX_CONCURRENT_STREAMS, lingering ones too.
   */
  int activeStreams() {
    int total = 0;
    for (io.vertx.core.http.HttpConnection connection : connections) {
      io.netty.channel.Channel channel = dev.abortguard.internal.vertx.VertxInternals.channel(connection);
      io.netty.handler.codec.http2.Http2ConnectionHandler handler =
          channel.pipeline().get(io.netty.handler.codec.http2.Http2ConnectionHandler.class);
      if (handler != null) {
        total += await(java.util.concurrent.CompletableFuture.supplyAsync(
            () -> handler.connection().numActiveStreams(), channel.eventLoop()));
      }
    }
    return total;
  }

  /** Closes the server at once: its connections too. */
  @Override
  public void close() {
    await(server.close().toCompletionStage().toCompletableFuture());
  }

  static <T> T await(java.util.concurrent.CompletableFuture<T> future) {
    try {
      return future.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("Vert.x did not answer within 10 s", e);
    }
  }

  private static Buffer read(InputStream in) {
    try (in) {
      return Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
