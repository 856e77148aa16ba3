package dev.abortguard.sample;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.abortguard.AbortGuard;
import dev.abortguard.sample.proto.DemoRequest;
import dev.abortguard.sample.proto.DemoResponse;
import dev.abortguard.sample.proto.DemoServiceGrpc;
import dev.abortguard.vertx.AbortGuardVertx;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.StringJoiner;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The {@code vertx} transport: a Vert.x {@code GrpcServer} on a Vert.x {@code HttpServer} (h2c)
 * serving the demo service's four methods as {@link DemoService} does, aborting as {@link
 * DemoAbortInterceptor} says (the same {@code x-demo-abort} and {@code x-demo-headers-first}
 * headers), with the guard installed by {@link AbortGuardVertx#install}. No health or reflection
 * service, and no Micrometer gRPC binder: those are grpc-java's.
 */
final class VertxDemoServer implements DemoServer {
  private final Vertx vertx;
  private final HttpServer server;
  private final String host;
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();

  private VertxDemoServer(Vertx vertx, HttpServer server, String host) {
    this.vertx = vertx;
    this.server = server;
    this.host = host;
  }

  /** Binds {@code address} and starts serving. */
  static VertxDemoServer start(InetSocketAddress address, AbortGuard guard, Options options) throws IOException {
    Vertx vertx = Vertx.vertx();
    HttpServerOptions serverOptions = new HttpServerOptions()
        .setHost(address.getHostString())
        .setPort(address.getPort())
        .setHttp2ClearTextEnabled(true);
    if (options.maxConcurrentStreams() > 0) {
      serverOptions.setInitialSettings(new Http2Settings().setMaxConcurrentStreams(options.maxConcurrentStreams()));
    }
    if (options.maxRstFrames() > 0) {
      serverOptions.setHttp2RstFloodMaxRstFramePerWindow(options.maxRstFrames())
          .setHttp2RstFloodWindowDuration(options.maxRstSeconds())
          .setHttp2RstFloodWindowDurationTimeUnit(TimeUnit.SECONDS);
    }
    GrpcServer grpc = GrpcServer.server(vertx);
    grpc.callHandler(VertxDemoServer::serve);
    HttpServer server = vertx.createHttpServer(serverOptions).requestHandler(grpc);
    // One line puts the guard on every connection of the server, and counts its aborts.
    AbortGuardVertx.install(guard, server);
    try {
      server.listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      vertx.close();
      throw new IOException("vertx transport: cannot listen on " + address + ": " + e.getCause(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      vertx.close();
      throw new IOException("interrupted", e);
    }
    return new VertxDemoServer(vertx, server, address.getHostString());
  }

  private static void serve(GrpcServerRequest<Buffer, Buffer> request) {
    GrpcServerResponse<Buffer, Buffer> response = request.response();
    if (!request.fullMethodName().startsWith(DemoServiceGrpc.SERVICE_NAME + "/")) {
      response.status(GrpcStatus.UNIMPLEMENTED).end();
      return;
    }
    String abort = request.headers().get(DemoAbortInterceptor.ABORT.name());
    if (abort != null) {
      DemoAbortInterceptor.Abort parsed =
          DemoAbortInterceptor.Abort.parse(abort, request.headers().get(DemoAbortInterceptor.HEADERS_FIRST.name()));
      if (parsed.headersFirst) {
        response.writeHead();
      }
      // grpc-message as grpc-java writes it: Vert.x's statusMessage() would percent-encode the
      // spaces too (legal, and clients decode it), but raw-frame checks compare the text.
      // Trailers-only: it goes with the response headers; after writeHead(), with the trailers.
      (parsed.headersFirst ? response.trailers() : response.headers())
          .set("grpc-message", grpcMessage(parsed.status.getDescription()));
      response.status(GrpcStatus.valueOf(parsed.status.getCode().value())).end();
      return;
    }
    switch (request.methodName()) {
      case "Unary":
        request.handler(message -> response.end(echo(parse(message))));
        break;
      case "ServerStream":
        request.handler(message -> {
          Buffer echo = echo(parse(message));
          for (int i = 0; i < DemoService.SERVER_STREAM_COPIES; i++) {
            response.write(echo);
          }
          response.end();
        });
        break;
      case "ClientStream": {
        StringJoiner texts = new StringJoiner(",");
        ByteString[] payloads = {ByteString.EMPTY};
        request.handler(message -> {
          DemoRequest parsed = parse(message);
          texts.add(parsed.getText());
          payloads[0] = payloads[0].concat(parsed.getPayload());
        });
        request.endHandler(v -> response.end(Buffer.buffer(
            DemoResponse.newBuilder().setText(texts.toString()).setPayload(payloads[0]).build().toByteArray())));
        break;
      }
      case "Bidi":
        request.handler(message -> response.write(echo(parse(message))));
        request.endHandler(v -> response.end());
        break;
      default:
        response.status(GrpcStatus.UNIMPLEMENTED).end();
    }
  }

  /** gRPC's percent-encoding: bytes outside printable ASCII, and '%', become %XX; the rest stays. */
  static String grpcMessage(String description) {
    StringBuilder encoded = new StringBuilder();
    for (byte b : description.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if (c >= 0x20 && c <= 0x7e && c != '%') {
        encoded.append((char) c);
      } else {
        encoded.append('%').append(String.format("%02X", c));
      }
    }
    return encoded.toString();
  }

  private static DemoRequest parse(Buffer message) {
    try {
      return DemoRequest.parseFrom(message.getBytes());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("not a DemoRequest: " + e.getMessage(), e);
    }
  }

  private static Buffer echo(DemoRequest request) {
    return Buffer.buffer(DemoResponse.newBuilder().setText(request.getText()).setPayload(request.getPayload())
        .build().toByteArray());
  }

  @Override
  public InetSocketAddress address() {
    return new InetSocketAddress(host, server.actualPort());
  }

  @Override
  public void shutdown(Duration grace) {
    try {
      // Vert.x sends GOAWAY and waits up to grace for the streams in flight, then closes.
      server.shutdown(grace.toMillis(), TimeUnit.MILLISECONDS).toCompletionStage().toCompletableFuture()
          .get(grace.toMillis() * 2, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      System.err.println("sample-server: shutdown: Vert.x server did not stop within "
          + SampleServer.format(grace.multipliedBy(2)));
    } catch (ExecutionException e) {
      System.err.println("sample-server: shutdown: Vert.x server failed to stop: " + e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      closeVertx();
    }
  }

  @Override
  public void shutdownNow() {
    server.close().onComplete(ar -> closeVertx());
  }

  private void closeVertx() {
    vertx.close().onComplete(ar -> terminated.complete(null));
  }

  @Override
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    return Termination.await(terminated, timeout);
  }

  @Override
  public void awaitTermination() throws InterruptedException {
    Termination.await(terminated);
  }
}
