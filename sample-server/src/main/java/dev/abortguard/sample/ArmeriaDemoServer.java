package dev.abortguard.sample;

import com.linecorp.armeria.server.Server;
import com.linecorp.armeria.server.ServerBuilder;
import com.linecorp.armeria.server.grpc.GrpcService;
import dev.abortguard.AbortGuard;
import dev.abortguard.armeria.AbortGuardArmeria;
import dev.abortguard.sample.proto.DemoServiceGrpc;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.grpc.MetricCollectingServerInterceptor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The {@code armeria} transport: an Armeria server whose {@code GrpcService} serves the {@link
 * DemoService} behind the {@link DemoAbortInterceptor}, health, reflection and Micrometer's gRPC
 * metrics, with the guard installed on the server ({@link AbortGuardArmeria}) and its interceptor on
 * the service.
 */
final class ArmeriaDemoServer implements DemoServer {
  private final Server server;
  private final HealthStatusManager health;
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();

  private ArmeriaDemoServer(Server server, HealthStatusManager health) {
    this.server = server;
    this.health = health;
    // Completes when the server is closed (closeAsync), not merely stopped.
    server.whenClosed().whenComplete((unused, cause) -> terminated.complete(null));
  }

  /**
   * Binds {@code address} and starts serving.
   *
   * @param shutdownGrace how long a stopping server waits for calls in flight
   */
  static ArmeriaDemoServer start(
      InetSocketAddress address, AbortGuard guard, MeterRegistry registry, Duration shutdownGrace, Options options) {
    HealthStatusManager health = new HealthStatusManager();
    health.setStatus(DemoServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    // One line puts the guard on every connection of the server.
    ServerBuilder builder = AbortGuardArmeria.install(guard, Server.builder())
        .http(address)
        .gracefulShutdownTimeout(Duration.ZERO, shutdownGrace)
        .service(GrpcService.builder()
            .addService(ServerInterceptors.intercept(new DemoService(), new DemoAbortInterceptor()))
            .addService(health.getHealthService())
            .addService(ProtoReflectionServiceV1.newInstance())
            // The last interceptor is the outermost: the guard's sees every abort.
            .intercept(new MetricCollectingServerInterceptor(registry), guard.interceptor())
            .build());
    if (options.maxConcurrentStreams() > 0) {
      builder.http2MaxStreamsPerConnection(options.maxConcurrentStreams());
    }
    if (options.maxRstFrames() > 0) {
      builder.http2MaxResetFramesPerWindow(options.maxRstFrames(), options.maxRstSeconds());
    }
    Server server = builder.build();
    server.start().join();
    return new ArmeriaDemoServer(server, health);
  }

  @Override
  public InetSocketAddress address() {
    return server.activePort().localAddress();
  }

  @Override
  public void shutdown(Duration grace) {
    health.enterTerminalState();
    try {
      // Armeria waits up to the graceful shutdown timeout the server was built with (grace).
      server.closeAsync().get(grace.toMillis() * 2, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      System.err.println("sample-server: shutdown: Armeria server did not stop within "
          + SampleServer.format(grace.multipliedBy(2)));
    } catch (ExecutionException e) {
      System.err.println("sample-server: shutdown: Armeria server failed to stop: " + e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void shutdownNow() {
    health.enterTerminalState();
    server.closeAsync();
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
