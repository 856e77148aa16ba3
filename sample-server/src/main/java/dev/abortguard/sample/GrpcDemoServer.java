package dev.abortguard.sample;

import dev.abortguard.AbortGuard;
import dev.abortguard.okhttp.AbortGuardOkHttp;
import dev.abortguard.sample.proto.DemoServiceGrpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.okhttp.OkHttpServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.grpc.MetricCollectingServerInterceptor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The {@code grpc} and {@code okhttp} transports: a grpc-java server, on Netty ({@code grpc}, its
 * builder from {@link AbortGuard#forAddress}) or on OkHttp ({@code okhttp}, its builder from {@link
 * AbortGuardOkHttp#forAddress}), with the {@link DemoService} behind the {@link
 * DemoAbortInterceptor}, health, reflection, Micrometer's gRPC metrics and the guard. Everything but
 * the builder is the same for both.
 */
final class GrpcDemoServer implements DemoServer {
  private static final String LINGERING = "grpc.server.streams.lingering";

  private final Server server;
  private final HealthStatusManager health;
  private final MeterRegistry registry;

  private GrpcDemoServer(Server server, HealthStatusManager health, MeterRegistry registry) {
    this.server = server;
    this.health = health;
    this.registry = registry;
  }

  /**
   * Binds {@code address} and starts serving, on grpc-java's Netty server or, for {@link
   * Options.Transport#OKHTTP}, its OkHttp server; {@code options} have passed {@link
   * Options#checkSupported()}.
   */
  static GrpcDemoServer start(InetSocketAddress address, AbortGuard guard, MeterRegistry registry, Options options)
      throws IOException {
    ServerBuilder<?> builder = options.transport() == Options.Transport.OKHTTP
        ? okHttpBuilder(address, guard, options)
        : nettyBuilder(address, guard, options);
    HealthStatusManager health = new HealthStatusManager();
    health.setStatus(DemoServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    builder.addService(ServerInterceptors.intercept(new DemoService(), new DemoAbortInterceptor()))
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .intercept(new MetricCollectingServerInterceptor(registry));
    return new GrpcDemoServer(builder.build().start(), health, registry);
  }

  /** One line installs the guard; it counts every abort whatever the interceptor order. */
  private static NettyServerBuilder nettyBuilder(InetSocketAddress address, AbortGuard guard, Options options) {
    NettyServerBuilder builder = guard.forAddress(address, InsecureServerCredentials.create());
    if (options.maxConcurrentStreams() > 0) {
      builder.maxConcurrentCallsPerConnection(options.maxConcurrentStreams());
    }
    if (options.maxRstFrames() > 0) {
      builder.maxRstFramesPerWindow(options.maxRstFrames(), options.maxRstSeconds());
    }
    return builder;
  }

  /**
   * One line here too: the guard's HTTP/2 adapter on every connection's socket and its call layer
   * on the builder. grpc-okhttp has no RST_STREAM limit ({@link Options#checkSupported()}).
   */
  private static OkHttpServerBuilder okHttpBuilder(InetSocketAddress address, AbortGuard guard, Options options) {
    OkHttpServerBuilder builder = AbortGuardOkHttp.forAddress(guard, address, InsecureServerCredentials.create());
    if (options.maxConcurrentStreams() > 0) {
      builder.maxConcurrentCallsPerConnection(options.maxConcurrentStreams());
    }
    return builder;
  }

  private long lingering() {
    Gauge gauge = registry.find(LINGERING).gauge();
    return gauge == null ? 0 : (long) gauge.value();
  }

  @Override
  public InetSocketAddress address() {
    return (InetSocketAddress) server.getListenSockets().get(0);
  }

  @Override
  public void shutdown(Duration grace) {
    health.enterTerminalState();
    server.shutdown();
    try {
      if (!server.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        // Straight to stderr: in a shutdown hook java.util.logging may already be shut down.
        System.err.println("sample-server: shutdown: calls still running after " + SampleServer.format(grace)
            + " (" + lingering() + " of them lingering streams, held open by peers that never close them):"
            + " cancelled them with shutdownNow()");
        server.shutdownNow();
        if (!server.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
          System.err.println("sample-server: shutdown: gRPC server did not terminate");
        }
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void shutdownNow() {
    health.enterTerminalState();
    server.shutdownNow();
  }

  @Override
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    return server.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  @Override
  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }
}
