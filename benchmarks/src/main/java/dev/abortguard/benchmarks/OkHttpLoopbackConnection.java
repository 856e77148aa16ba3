package dev.abortguard.benchmarks;

import dev.abortguard.AbortGuard;
import dev.abortguard.okhttp.AbortGuardOkHttp;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.okhttp.OkHttpServerBuilder;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * {@link LoopbackConnection} with a grpc-okhttp server: stock ({@code OkHttpServerBuilder}) or
 * guarded ({@code AbortGuardOkHttp}, whose accepted sockets' streams go through the guard's frame
 * reader and writer), and the same grpc-java Netty client on NIO over a real loopback socket.
 */
final class OkHttpLoopbackConnection {
  /**
   * The server's HTTP/2 flow-control window, on both servers: grpc-netty's default (1 MiB) in place
   * of grpc-okhttp's 64 KiB, so that 32 bidi messages of 16 KiB in flight never wait for a
   * WINDOW_UPDATE and the large-message case measures bytes, not flow-control round trips.
   */
  static final int FLOW_CONTROL_WINDOW = 1 << 20;

  private final EventLoopGroup clientWorker =
      new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("bench-client-io", true), NioIoHandler.newFactory());
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final boolean guarded;
  private final Server server;
  private final ManagedChannel channel;

  /**
   * @param guard {@code stock} for no guard, else a policy name ({@code guarded} means {@code
   *     deferred}) for a guard with that policy and a {@link SimpleMeterRegistry}
   */
  OkHttpLoopbackConnection(String guard) throws IOException {
    guarded = !guard.equals("stock");
    InetSocketAddress address = new InetSocketAddress("127.0.0.1", 0);
    OkHttpServerBuilder builder;
    if (guarded) {
      AbortGuard abortGuard = LoopbackConnection.guardFor(guard, registry);
      builder = AbortGuardOkHttp.forAddress(abortGuard, address, InsecureServerCredentials.create());
    } else {
      builder = OkHttpServerBuilder.forPort(address, InsecureServerCredentials.create());
    }
    // grpc-okhttp's own threads otherwise (its default transport executor): one blocking reader per
    // connection, which also runs the handlers here, and a serializing writer.
    server = builder
        // Handlers run on the reading thread, on both servers alike, as in LoopbackConnection.
        .directExecutor()
        .flowControlWindow(FLOW_CONTROL_WINDOW)
        .addService(EchoService.definition())
        .build()
        .start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext()
        .channelType(NioSocketChannel.class)
        .eventLoopGroup(clientWorker)
        .directExecutor()
        .build();
  }

  ManagedChannel channel() {
    return channel;
  }

  /**
   * Fails if the guarded server served a connection that did not go through the guard (its
   * transport filter counts {@code abortguard.misconfigured{problem=transport_not_guarded}}): the
   * figures would then be stock's under the guard's name.
   */
  void checkGuarded() {
    if (!guarded) {
      return;
    }
    double unguarded = registry.find("abortguard.misconfigured").counters().stream()
        .mapToDouble(Counter::count)
        .sum();
    if (unguarded > 0) {
      throw new IllegalStateException("the guarded grpc-okhttp server served " + (long) unguarded
          + " connection(s) without the guard");
    }
  }

  /** Shuts everything down, the client first so the server sees an orderly disconnect. */
  void close() throws InterruptedException {
    channel.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
    clientWorker.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
