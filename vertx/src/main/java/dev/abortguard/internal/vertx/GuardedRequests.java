package dev.abortguard.internal.vertx;

import dev.abortguard.internal.GuardParts;
import dev.abortguard.internal.Internal;
import dev.abortguard.internal.metrics.GuardMetrics;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.io.InputStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The request handler {@code AbortGuardVertx.install} puts in front of the server's own (the
 * {@code GrpcServer}): it guards each request's HTTP/2 connection (once per connection) and counts
 * the gRPC aborts in {@code grpc.server.aborts}, by watching each response end: a non-OK {@code
 * grpc-status} with no response message written is an abort, trailers-only when the status came in
 * the response headers.
 */
@Internal
public final class GuardedRequests implements Handler<HttpServerRequest> {
  private static final Logger logger = Logger.getLogger("dev.abortguard");
  /** Distinct method names metered before further ones are counted as {@code unknown}. */
  private static final int MAX_METHODS = 1000;

  private final GuardParts parts;
  private final Handler<HttpServerRequest> delegate;
  private final Map<String, MethodDescriptor<?, ?>> methods = new ConcurrentHashMap<>();
  private final MethodDescriptor<?, ?> unknownMethod = method("unknown/unknown");
  private final AtomicBoolean warnedHttp1 = new AtomicBoolean();

  /**
   * Guards the requests of a server whose guard's parts are {@code parts}, then hands them to
   * {@code delegate} (null: {@link #observe} only, for a framework that routes requests itself).
   */
  public GuardedRequests(GuardParts parts, Handler<HttpServerRequest> delegate) {
    this.parts = parts;
    this.delegate = delegate;
  }

  /** The guard this handler serves. */
  public GuardParts parts() {
    return parts;
  }

  @Override
  public void handle(HttpServerRequest request) {
    observe(request);
    delegate.handle(request);
  }

  /**
   * Guards {@code request}'s connection and, for a gRPC request, counts its abort when its response
   * ends; hands it on to nothing. For a framework that owns the request handler (a Quarkus route
   * calls this, then passes the request on its own way). Call it before the response is written.
   */
  public void observe(HttpServerRequest request) {
    observe(request, request.response()::endHandler);
  }

  /**
   * {@link #observe(HttpServerRequest)}, with the response's end watched through {@code onEnd}
   * instead of the response's one {@code endHandler} slot: for a framework that owns that slot
   * (Vert.x Web's {@code RoutingContext} sets it for its own {@code addEndHandler} list, so a
   * Quarkus route passes {@code h -> ctx.addEndHandler(ar -> h.handle(null))}).
   */
  public void observe(HttpServerRequest request, Consumer<Handler<Void>> onEnd) {
    VertxConnectionAdapter adapter = null;
    if (request.version() == HttpVersion.HTTP_2) {
      adapter = VertxConnectionAdapter.attach(VertxInternals.channel(request.connection()), parts);
    } else if (isGrpc(request) && warnedHttp1.compareAndSet(false, true)) {
      logger.warning("abortguard: a gRPC request came over " + request.version() + "; gRPC needs HTTP/2 and the "
          + "guard acts on HTTP/2 connections only. Enable h2c (HttpServerOptions.setHttp2ClearTextEnabled) or TLS "
          + "with ALPN (setUseAlpn(true)). Logged once per server.");
    }
    if (isGrpc(request)) {
      watch(request, adapter, onEnd);
    }
  }

  private void watch(HttpServerRequest request, VertxConnectionAdapter adapter, Consumer<Handler<Void>> onEnd) {
    GuardMetrics metrics = parts.metrics();
    CallRecord call = new CallRecord(metrics, methodOf(request.path()));
    if (adapter != null) {
      adapter.callStarted(request.streamId(), call);
    }
    HttpServerResponse response = request.response();
    onEnd.accept(v -> {
      String status = response.trailers().get("grpc-status");
      boolean trailersOnly = false;
      if (status == null) {
        status = response.headers().get("grpc-status");
        trailersOnly = status != null;
      }
      Status.Code code = abortCode(status);
      if (code != null && response.bytesWritten() == 0) {
        boolean halfClosed = adapter != null ? adapter.peerHalfClosed(request.streamId()) : request.isEnded();
        metrics.onAbort(call.method(), code,
            halfClosed ? GuardMetrics.Peer.HALF_CLOSED : GuardMetrics.Peer.STREAMING,
            trailersOnly ? GuardMetrics.Response.TRAILERS_ONLY : GuardMetrics.Response.HEADERS_THEN_TRAILERS);
        call.ended(code);
      } else {
        call.ended(null);
      }
    });
  }

  private static Status.Code abortCode(String status) {
    if (status == null) {
      return null;
    }
    try {
      Status.Code code = Status.fromCodeValue(Integer.parseInt(status.trim())).getCode();
      return code == Status.Code.OK ? null : code;
    } catch (NumberFormatException e) {
      return Status.Code.UNKNOWN;
    }
  }

  private static boolean isGrpc(HttpServerRequest request) {
    String contentType = request.getHeader("content-type");
    return contentType != null && contentType.startsWith("application/grpc");
  }

  /** The descriptor the meters key {@code path}'s method by: one per method, bounded in number. */
  private MethodDescriptor<?, ?> methodOf(String path) {
    String name = path != null && path.startsWith("/") ? path.substring(1) : path;
    if (name == null || name.indexOf('/') <= 0) {
      return unknownMethod;
    }
    MethodDescriptor<?, ?> known = methods.get(name);
    if (known != null) {
      return known;
    }
    if (methods.size() >= MAX_METHODS) {
      return unknownMethod;
    }
    return methods.computeIfAbsent(name, GuardedRequests::method);
  }

  private static MethodDescriptor<?, ?> method(String fullName) {
    // Vert.x's GrpcServer does not tell the method's type to a handler in front of it: UNKNOWN.
    return MethodDescriptor.<Object, Object>newBuilder()
        .setType(MethodDescriptor.MethodType.UNKNOWN)
        .setFullMethodName(fullName)
        .setRequestMarshaller(NoMarshaller.INSTANCE)
        .setResponseMarshaller(NoMarshaller.INSTANCE)
        .build();
  }

  /** The meters never marshal. */
  private enum NoMarshaller implements MethodDescriptor.Marshaller<Object> {
    INSTANCE;

    @Override
    public InputStream stream(Object value) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Object parse(InputStream stream) {
      throw new UnsupportedOperationException();
    }
  }
}
