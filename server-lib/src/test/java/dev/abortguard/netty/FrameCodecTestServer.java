package dev.abortguard.netty;

import dev.abortguard.AbortGuard;
import dev.abortguard.testing.GuardMeters;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.TestServers;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.ChannelGroupFuture;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * A plain Netty HTTP/2 server on 127.0.0.1 built the way Netty gRPC-ish code is: per connection
 * {@code Http2FrameCodec}, then (optionally) {@link AbortGuard#http2FrameCodecHandler()}, then an
 * {@code Http2MultiplexHandler} whose child channels answer each request.
 *
 * <p>A child closes a call with trailers-only ({@code :status 200}, {@code content-type
 * application/grpc}, {@code grpc-status}, {@code grpc-message}, END_STREAM) and then closes itself,
 * when the request carries {@value TestServers#ABORT_HEADER} (a {@code Status.Code} name); closes
 * at once without writing anything when it carries {@value #RESET_EARLY_HEADER}; otherwise it
 * echoes: response headers, each DATA payload back as is, and {@code grpc-status 0} trailers on the
 * client's END_STREAM. Every inbound frame is released.
 */
final class FrameCodecTestServer implements AutoCloseable, GuardMeters {
  /** The request header that makes the child close before it wrote anything. */
  static final String RESET_EARLY_HEADER = "x-test-reset-early";

  /** How long a connection closed by {@link #closeConnections()} waits for its active streams. */
  static final Duration GRACEFUL_SHUTDOWN = Duration.ofSeconds(10);

  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  /** The guard whose handler each connection gets, or null for a stock pipeline. */
  final AbortGuard guard;

  private final EventLoopGroup bossGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final EventLoopGroup workerGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final Channel serverChannel;

  private FrameCodecTestServer(UnaryOperator<AbortGuard.Builder> guardOptions, int readBufferBytes) {
    this.guard = guardOptions == null
        ? null
        : guardOptions.apply(AbortGuard.builder().properties(name -> null).meterRegistry(registry)).build();
    ServerBootstrap bootstrap = new ServerBootstrap()
        .group(bossGroup, workerGroup)
        .channel(NioServerSocketChannel.class);
    if (readBufferBytes > 0) {
      bootstrap.childOption(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(readBufferBytes));
    }
    bootstrap.childHandler(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        connections.add(ch);
        ch.pipeline().addLast(Http2FrameCodecBuilder.forServer()
            .gracefulShutdownTimeoutMillis(GRACEFUL_SHUTDOWN.toMillis())
            .build());
        if (guard != null) {
          ch.pipeline().addLast(guard.http2FrameCodecHandler());
        }
        ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
          @Override
          protected void initChannel(Http2StreamChannel child) {
            child.pipeline().addLast(new CallHandler());
          }
        }));
      }
    });
    try {
      this.serverChannel = bootstrap.bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      shutDownGroups();
      throw new IllegalStateException("interrupted while binding", e);
    } catch (RuntimeException e) {
      shutDownGroups();
      throw e;
    }
  }

  /**
   * Starts a server whose connections get the guard's handler; {@code guardOptions} configures a
   * builder that reads no system properties and records into {@link #registry}.
   */
  static FrameCodecTestServer start(UnaryOperator<AbortGuard.Builder> guardOptions) {
    return new FrameCodecTestServer(guardOptions, 0);
  }

  /** Starts a stock server: codec and multiplex handler only. */
  static FrameCodecTestServer startStock() {
    return new FrameCodecTestServer(null, 0);
  }

  /**
   * Like {@link #start} ({@code guardOptions} null: {@link #startStock}), with each connection
   * reading into fixed {@code readBufferBytes} buffers, so that what is queued on the socket,
   * up to that size, is read at once: one {@code channelRead}, one {@code channelReadComplete}.
   */
  static FrameCodecTestServer startWithReadBuffer(UnaryOperator<AbortGuard.Builder> guardOptions, int readBufferBytes) {
    return new FrameCodecTestServer(guardOptions, readBufferBytes);
  }

  int port() {
    return ((InetSocketAddress) serverChannel.localAddress()).getPort();
  }

  RawHttp2Client connect() {
    return RawHttp2Client.connect("127.0.0.1", port());
  }

  /** The handler types in each open connection's pipeline, in order. */
  List<List<String>> connectionPipelines() {
    List<List<String>> pipelines = new ArrayList<>();
    for (Channel connection : connections) {
      List<String> types = new ArrayList<>();
      connection.pipeline().forEach(entry -> types.add(entry.getValue().getClass().getSimpleName()));
      pipelines.add(types);
    }
    return pipelines;
  }

  /**
   * Closes every accepted connection gracefully ({@code channel.close()}): the codec sends GOAWAY
   * and waits for active streams up to {@link #GRACEFUL_SHUTDOWN}. The future completes when all
   * connections have closed.
   */
  ChannelGroupFuture closeConnections() {
    return connections.close();
  }

  /**
   * Holds the connections' event loop (one thread serves them all) until the returned handle is
   * closed, so that what a client sends meanwhile is queued on the socket and read together.
   * The loop is released after 10 s at the latest.
   */
  AutoCloseable pauseEventLoop() {
    CountDownLatch paused = new CountDownLatch(1);
    CountDownLatch resume = new CountDownLatch(1);
    workerGroup.next().execute(() -> {
      paused.countDown();
      try {
        resume.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    try {
      if (!paused.await(5, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the event loop did not pause within 5 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      resume.countDown();
      throw new IllegalStateException("interrupted while pausing the event loop", e);
    }
    return resume::countDown;
  }

  /** Open accepted connections. */
  int openConnections() {
    return connections.size();
  }

  /**
   * Closes the listening socket, then every connection gracefully, waiting at most 1 s for them
   * (a connection held up by a lingering stream is then closed by the event loop's shutdown), and
   * shuts the event loops down within 5 s.
   */
  @Override
  public MeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    serverChannel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    connections.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
    shutDownGroups();
  }

  private void shutDownGroups() {
    var boss = bossGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    var workers = workerGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    if (!boss.awaitUninterruptibly(5, TimeUnit.SECONDS) || !workers.awaitUninterruptibly(5, TimeUnit.SECONDS)) {
      throw new IllegalStateException("test server event loops did not terminate within 5 s");
    }
  }

  /** One call, on its child stream channel. */
  private static final class CallHandler extends ChannelInboundHandlerAdapter {
    private static final String ABORT_ON_MESSAGE = TestServers.path(TestServers.ABORT_ON_MESSAGE);
    private boolean aborted;
    /** {@link TestServers#ABORT_ON_MESSAGE}: the first DATA ends the call with PERMISSION_DENIED. */
    private boolean abortOnMessage;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (msg instanceof Http2HeadersFrame) {
          onHeaders(ctx, (Http2HeadersFrame) msg);
        } else if (msg instanceof Http2DataFrame) {
          onData(ctx, (Http2DataFrame) msg);
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    private void onHeaders(ChannelHandlerContext ctx, Http2HeadersFrame frame) {
      Http2Headers request = frame.headers();
      if (request.contains(RESET_EARLY_HEADER)) {
        aborted = true;
        ctx.close();
        return;
      }
      CharSequence abort = request.get(TestServers.ABORT_HEADER);
      if (abort != null) {
        aborted = true;
        int code = Status.Code.valueOf(abort.toString()).value();
        Http2Headers trailers = new DefaultHttp2Headers()
            .status("200")
            .set("content-type", "application/grpc")
            .set("grpc-status", Integer.toString(code))
            .set("grpc-message", TestServers.ABORT_DESCRIPTION);
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(trailers, true)).addListener(ChannelFutureListener.CLOSE);
        return;
      }
      abortOnMessage = ABORT_ON_MESSAGE.contentEquals(request.path());
      ctx.write(new DefaultHttp2HeadersFrame(
          new DefaultHttp2Headers().status("200").set("content-type", "application/grpc"), false));
      if (frame.isEndStream()) {
        finish(ctx);
      } else {
        ctx.flush();
      }
    }

    private void onData(ChannelHandlerContext ctx, Http2DataFrame data) {
      if (aborted) {
        return; // released by channelRead
      }
      if (abortOnMessage && data.content().isReadable()) {
        aborted = true;
        Http2Headers trailers = new DefaultHttp2Headers()
            .set("grpc-status", Integer.toString(Status.Code.PERMISSION_DENIED.value()))
            .set("grpc-message", TestServers.ABORT_DESCRIPTION);
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(trailers, true)).addListener(ChannelFutureListener.CLOSE);
        return;
      }
      if (data.content().isReadable()) {
        ctx.write(new DefaultHttp2DataFrame(data.content().retainedDuplicate(), false));
      }
      if (data.isEndStream()) {
        finish(ctx);
      } else {
        ctx.flush();
      }
    }

    private static void finish(ChannelHandlerContext ctx) {
      ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().set("grpc-status", "0"), true))
          .addListener(ChannelFutureListener.CLOSE);
    }
  }
}
