package dev.abortguard.sample;

import dev.abortguard.AbortGuard;
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
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2FrameStreamException;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The {@code frame-codec} transport: a plain Netty server whose connections run {@code
 * Http2FrameCodec}, the guard's {@link AbortGuard#http2FrameCodecHandler() handler} and an {@code
 * Http2MultiplexHandler}, with a {@link FrameCodecDemoHandler} on each stream.
 */
final class FrameCodecDemoServer implements DemoServer {
  private static final Logger logger = Logger.getLogger(FrameCodecDemoServer.class.getName());

  private final EventLoopGroup acceptors;
  private final EventLoopGroup workers;
  private final Channel serverChannel;
  private final ChannelGroup connections;

  private FrameCodecDemoServer(
      EventLoopGroup acceptors, EventLoopGroup workers, Channel serverChannel, ChannelGroup connections) {
    this.acceptors = acceptors;
    this.workers = workers;
    this.serverChannel = serverChannel;
    this.connections = connections;
  }

  /**
   * Binds {@code address} and starts serving.
   *
   * @param shutdownGrace how long a closing connection waits for its streams after its GOAWAY
   */
  static FrameCodecDemoServer start(InetSocketAddress address, AbortGuard guard, Duration shutdownGrace, Options options)
      throws IOException {
    EventLoopGroup acceptors = new MultiThreadIoEventLoopGroup(
        1, new DefaultThreadFactory("frame-codec-accept"), NioIoHandler.newFactory());
    EventLoopGroup workers = new MultiThreadIoEventLoopGroup(
        new DefaultThreadFactory("frame-codec-worker"), NioIoHandler.newFactory());
    ChannelGroup connections = new DefaultChannelGroup("frame-codec-connections", GlobalEventExecutor.INSTANCE);
    ServerBootstrap bootstrap = new ServerBootstrap()
        .group(acceptors, workers)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel channel) {
            connections.add(channel);
            Http2FrameCodecBuilder codec = Http2FrameCodecBuilder.forServer()
                .gracefulShutdownTimeoutMillis(shutdownGrace.toMillis());
            if (options.maxConcurrentStreams() > 0) {
              codec.initialSettings(Http2Settings.defaultSettings().maxConcurrentStreams(options.maxConcurrentStreams()));
            }
            if (options.maxRstFrames() > 0) {
              codec.decoderEnforceMaxRstFramesPerWindow(options.maxRstFrames(), options.maxRstSeconds());
            }
            channel.pipeline().addLast(
                codec.build(),
                guard.http2FrameCodecHandler(),
                new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                  @Override
                  protected void initChannel(Http2StreamChannel stream) {
                    stream.pipeline().addLast(new FrameCodecDemoHandler());
                  }
                }),
                ConnectionErrorLogger.INSTANCE);
          }
        });
    ChannelFuture bound = bootstrap.bind(address).awaitUninterruptibly();
    if (!bound.isSuccess()) {
      acceptors.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      throw new IOException("cannot bind " + address + ": " + bound.cause(), bound.cause());
    }
    return new FrameCodecDemoServer(acceptors, workers, bound.channel(), connections);
  }

  @Override
  public InetSocketAddress address() {
    return (InetSocketAddress) serverChannel.localAddress();
  }

  /**
   * Closes the listening socket, then every connection (each sends GOAWAY and waits up to its
   * codec's graceful-shutdown timeout for its streams), then stops the event loops.
   */
  @Override
  public void shutdown(Duration grace) {
    long graceMillis = grace.toMillis();
    serverChannel.close().awaitUninterruptibly(graceMillis);
    // The codecs wait at most the grace for their streams; leave them a little beyond it.
    if (!connections.close().awaitUninterruptibly(graceMillis + 1000)) {
      // Straight to stderr: in a shutdown hook java.util.logging may already be shut down.
      System.err.println("sample-server: shutdown: connections still open " + SampleServer.format(grace)
          + " after GOAWAY: closed them");
    }
    acceptors.shutdownGracefully(0, graceMillis, TimeUnit.MILLISECONDS);
    workers.shutdownGracefully(0, graceMillis, TimeUnit.MILLISECONDS);
    boolean interrupted = false;
    try {
      if (!awaitTermination(grace)) {
        System.err.println("sample-server: shutdown: frame-codec event loops did not terminate");
      }
    } catch (InterruptedException e) {
      interrupted = true;
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void shutdownNow() {
    serverChannel.close();
    connections.close();
    acceptors.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
  }

  @Override
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    return acceptors.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS)
        && workers.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
  }

  @Override
  public void awaitTermination() throws InterruptedException {
    acceptors.terminationFuture().await();
    workers.terminationFuture().await();
  }

  /**
   * The last handler of a connection: socket errors (a peer that vanished) end up here rather than
   * in Netty's "reached the tail of the pipeline" warning, and close the connection. HTTP/2 errors
   * do not: the codec has already answered a stream error with RST_STREAM (REFUSED_STREAM past the
   * stream limit, say) and a connection error with GOAWAY, and every other call on the connection
   * must go on.
   */
  @ChannelHandler.Sharable
  private static final class ConnectionErrorLogger extends ChannelInboundHandlerAdapter {
    static final ConnectionErrorLogger INSTANCE = new ConnectionErrorLogger();

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (cause instanceof Http2FrameStreamException || cause instanceof Http2Exception) {
        logger.log(Level.FINE, "HTTP/2 error on " + ctx.channel().remoteAddress() + ", handled by the codec", cause);
        return;
      }
      logger.log(Level.FINE, "connection " + ctx.channel().remoteAddress() + " failed; closing it", cause);
      ctx.close();
    }
  }
}
