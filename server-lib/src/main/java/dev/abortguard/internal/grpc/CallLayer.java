package dev.abortguard.internal.grpc;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.internal.Internal;
import dev.abortguard.internal.metrics.GuardMetrics;
import dev.abortguard.internal.metrics.GuardMetrics.Problem;
import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptor;
import io.grpc.ServerStreamTracer;
import io.grpc.ServerTransportFilter;
import io.grpc.netty.NettyServerBuilder;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * The guard's part in one server's calls: a stream tracer factory that gives each call a {@link
 * CallRecord}, and a transport check that says so loudly when the server's connections do not
 * carry the HTTP/2 adapter. One per server, so each server reports only what it did.
 */
@Internal
public final class CallLayer extends ServerStreamTracer.Factory {
  private static final Logger logger = Logger.getLogger("dev.abortguard");

  final AbortGuardConfig config;
  final GuardMetrics metrics;
  private final AtomicBoolean transportReported = new AtomicBoolean();
  private final AtomicBoolean headersReported = new AtomicBoolean();

  /** The call layer of one server, recording into {@code metrics}. */
  public CallLayer(AbortGuardConfig config, GuardMetrics metrics) {
    this.config = config;
    this.metrics = metrics;
  }

  /**
   * Adds a new call layer to {@code builder}: its stream tracer, on a grpc-netty builder its
   * transport check, and the guard's {@code interceptor}.
   */
  public static void install(ServerBuilder<?> builder, AbortGuardConfig config, GuardMetrics metrics,
      ServerInterceptor interceptor) {
    CallLayer layer = new CallLayer(config, metrics);
    try {
      builder.addStreamTracerFactory(layer);
    } catch (UnsupportedOperationException e) {
      logger.warning("abortguard: " + builder.getClass().getName() + " takes no stream tracers; "
          + "only aborts that pass through the guard's interceptor are counted");
    }
    if (builder instanceof NettyServerBuilder) {
      builder.addTransportFilter(layer.transportCheck());
    }
    builder.intercept(interceptor);
  }

  @Override
  public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
    CallRecord record = new CallRecord(this, false);
    GrpcConnectionAdapter.bindOpeningStream(record);
    return record;
  }

  /**
   * For Netty servers: checks each new connection for the guard's HTTP/2 adapter, which is lost
   * when the builder's credentials were not wrapped or its security was changed afterwards.
   */
  public ServerTransportFilter transportCheck() {
    return new ServerTransportFilter() {
      @Override
      public Attributes transportReady(Attributes attributes) {
        if (attributes.get(GuardAttachingHandler.GUARDED) == null) {
          metrics.onMisconfigured(Problem.TRANSPORT_NOT_GUARDED);
          if (transportReported.compareAndSet(false, true)) {
            logger.severe("abortguard: guard.install(builder) was called on a Netty server whose "
                + "connections do not carry the guard's HTTP/2 adapter, so the reset policy ("
                + config.reset().value() + ") is not applied. The builder was not made from "
                + "guarded credentials, or its security was set afterwards (sslContext, "
                + "useTransportSecurity, protocolNegotiator). Fix: build it with "
                + "guard.forPort(port, credentials), or NettyServerBuilder.forPort(port, "
                + "guard.wrap(credentials)).");
          }
        }
        return attributes;
      }
    };
  }

  void headersSentOutsideInterceptor(MethodDescriptor<?, ?> method) {
    metrics.onMisconfigured(Problem.HEADERS_OUTSIDE_INTERCEPTOR);
    if (headersReported.compareAndSet(false, true)) {
      logger.severe("abortguard: a call to " + method.getFullMethodName() + " was aborted after "
          + "response headers that were sent outside the guard's interceptor, so it could not go "
          + "out trailers-only. Fix: add guard.interceptor() after your last "
          + "builder.intercept(...), so that it is the outermost interceptor.");
    }
  }
}
