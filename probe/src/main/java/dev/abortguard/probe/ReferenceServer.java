package dev.abortguard.probe;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/** The {@code serve} command's server: a Netty HTTP/2 server with a {@link CallRejectingHandler} per connection. */
final class ReferenceServer {
  private static final long STOP_MILLIS = 2000;

  private final EventLoopGroup group;
  private final Channel serverChannel;
  private final ChannelGroup connections;

  private ReferenceServer(EventLoopGroup group, Channel serverChannel, ChannelGroup connections) {
    this.group = group;
    this.serverChannel = serverChannel;
    this.connections = connections;
  }

  /**
   * Binds and starts serving.
   *
   * @param ssl TLS for every connection, or null for cleartext HTTP/2 (h2c)
   * @throws IOException if the address cannot be bound
   */
  static ReferenceServer start(String host, int port, SslContext ssl, Behaviour behaviour) throws IOException {
    // One event loop is plenty for a test backend, and keeps each connection's order simple.
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(
        1, new DefaultThreadFactory("abortguard-probe-serve"), NioIoHandler.newFactory());
    ChannelGroup connections = new DefaultChannelGroup("connections", GlobalEventExecutor.INSTANCE);
    ServerBootstrap bootstrap = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            connections.add(ch);
            if (ssl != null) {
              ch.pipeline().addLast(ssl.newHandler(ch.alloc()));
            }
            ch.pipeline().addLast(CallRejectingHandler.create(behaviour), QuietConnectionErrors.INSTANCE);
          }
        });
    ChannelFuture bound = bootstrap.bind(host, port).awaitUninterruptibly();
    if (!bound.isSuccess()) {
      group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      throw new IOException("cannot listen on " + host + ":" + port + ": " + bound.cause().getMessage(), bound.cause());
    }
    return new ReferenceServer(group, bound.channel(), connections);
  }

  InetSocketAddress address() {
    return (InetSocketAddress) serverChannel.localAddress();
  }

  /** Stops listening, closes every connection (GOAWAY first) and stops the event loop; each wait bounded. */
  void stop() {
    serverChannel.close().awaitUninterruptibly(STOP_MILLIS);
    connections.close().awaitUninterruptibly(STOP_MILLIS);
    group.shutdownGracefully(0, STOP_MILLIS, TimeUnit.MILLISECONDS).awaitUninterruptibly(2 * STOP_MILLIS);
  }

  /** Waits until {@link #stop()} has stopped the event loop. */
  void awaitTermination() throws InterruptedException {
    group.terminationFuture().await();
  }

  /**
   * The last handler of a connection: a peer that vanishes or speaks TLS badly ends here, not in
   * Netty's "reached the tail of the pipeline" warning.
   */
  @ChannelHandler.Sharable
  private static final class QuietConnectionErrors extends ChannelInboundHandlerAdapter {
    static final QuietConnectionErrors INSTANCE = new QuietConnectionErrors();

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
