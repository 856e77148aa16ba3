package dev.abortguard.sample;

import dev.abortguard.AbortGuard;
import dev.abortguard.sample.proto.DemoServiceGrpc;
import io.grpc.Server;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.grpc.MetricCollectingServerInterceptor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The {@code grpc} transport: grpc-java's Netty server with the {@link DemoService} behind the
 * {@link DemoAbortInterceptor}, health, reflection, Micrometer's gRPC metrics and the guard.
 */
final class GrpcDemoServer implements DemoServer {
  private static final Logger logger = Logger.getLogger(GrpcDemoServer.class.getName());

  private final Server server;
  private final HealthStatusManager health;

  private GrpcDemoServer(Server server, HealthStatusManager health) {
    this.server = server;
    this.health = health;
  }

  private MeterRegistry registry;

  private long lingering() {
    io.micrometer.core.instrument.Gauge gauge = registry == null ? null : registry.find("grpc.server.streams.lingering").gauge();
    return gauge == null ? 0 : (long) gauge.value();
  }

  static GrpcDemoServer start(InetSocketAddress address, AbortGuard guard, MeterRegistry registry, Options options)
      throws IOException {
    HealthStatusManager health = new HealthStatusManager();
    health.setStatus(DemoServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    // One line installs the guard; it counts every abort whatever the interceptor order.
    NettyServerBuilder builder = guard.forAddress(address, InsecureServerCredentials.create())
        .addService(ServerInterceptors.intercept(new DemoService(), new DemoAbortInterceptor()))
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .intercept(new MetricCollectingServerInterceptor(registry));
    if (options.maxConcurrentStreams() > 0) {
      builder.maxConcurrentCallsPerConnection(options.maxConcurrentStreams());
    }
    if (options.maxRstFrames() > 0) {
      builder.maxRstFramesPerWindow(options.maxRstFrames(), options.maxRstSeconds());
    }
    GrpcDemoServer server = new GrpcDemoServer(builder.build().start(), health);
    server.registry = registry;
    return server;
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
