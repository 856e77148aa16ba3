package dev.abortguard.benchmarks;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A grpc-java Netty server, stock or guarded, and a grpc-java client channel connected to it over
 * a real loopback socket, both on NIO: what every network benchmark measures against.
 */
final class LoopbackConnection {
  // One I/O thread per side: with two cores and the benchmark thread, more threads would only
  // measure the scheduler.
  private final EventLoopGroup serverBoss =
      new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("bench-server-boss", true), NioIoHandler.newFactory());
  private final EventLoopGroup serverWorker =
      new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("bench-server-io", true), NioIoHandler.newFactory());
  private final EventLoopGroup clientWorker =
      new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("bench-client-io", true), NioIoHandler.newFactory());
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final Server server;
  private final ManagedChannel channel;

  /**
   * @param guard {@code stock} for no guard, else a policy name ({@code guarded} means {@code
   *     deferred}) for a guard with that policy and a {@link SimpleMeterRegistry}
   * @param appInterceptor the application's own interceptor, or {@code null}; the guard goes on
   *     after it, as docs/grpc-netty.md says, so it is the outermost
   */
  LoopbackConnection(String guard, ServerInterceptor appInterceptor) throws IOException {
    AbortGuard guarded = guard.equals("stock") ? null : guardFor(guard, registry);
    ServerCredentials plaintext = InsecureServerCredentials.create();
    NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
            guarded == null ? plaintext : guarded.wrap(plaintext))
        .channelType(NioServerSocketChannel.class)
        .bossEventLoopGroup(serverBoss)
        .workerEventLoopGroup(serverWorker)
        // Handlers run on the I/O thread, on both servers alike: a thread hop per call would add
        // scheduling noise larger than the difference being measured.
        .directExecutor()
        .addService(EchoService.definition());
    if (appInterceptor != null) {
      builder.intercept(appInterceptor);
    }
    if (guarded != null) {
      guarded.install(builder);
    }
    server = builder.build().start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext()
        .channelType(NioSocketChannel.class)
        .eventLoopGroup(clientWorker)
        .directExecutor()
        .build();
  }

  /** A guard as the benchmarks configure it; system properties are ignored so runs are repeatable. */
  static AbortGuard guardFor(String policy, SimpleMeterRegistry registry) {
    ResetPolicy reset = policy.equals("guarded") ? ResetPolicy.DEFERRED
        : ResetPolicy.valueOf(policy.toUpperCase(Locale.ROOT));
    return AbortGuard.builder()
        .properties(name -> null)
        .reset(reset)
        .meterRegistry(registry)
        .build();
  }

  ManagedChannel channel() {
    return channel;
  }

  /**
   * The guard's stream counters ({@code grpc.server.streams.*}) in one line, or an empty string
   * when nothing was counted: printed at tear-down as evidence of what the tracker did.
   */
  String guardCounters() {
    return registry.getMeters().stream()
        .filter(m -> m.getId().getName().startsWith("grpc.server.streams"))
        .map(LoopbackConnection::describe)
        .filter(s -> !s.isEmpty())
        .sorted()
        .collect(Collectors.joining(", "));
  }

  private static String describe(Meter meter) {
    String cause = meter.getId().getTag("cause");
    String name = meter.getId().getName().substring("grpc.server.streams.".length())
        + (cause == null ? "" : "{" + cause + "}");
    double value = meter.measure().iterator().next().getValue();
    return value == 0 && cause != null ? "" : name + "=" + (long) value;
  }

  /** Shuts everything down, the client first so the server sees an orderly disconnect. */
  void close() throws InterruptedException {
    channel.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
    clientWorker.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    serverWorker.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    serverBoss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
