package dev.abortguard.hostile;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.GuardMeters;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import io.grpc.Attributes;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
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
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * A server the hostile tests attack, on 127.0.0.1: grpc-java's Netty server or a plain Netty
 * {@code Http2FrameCodec} server, each guarded or stock, serving the test echo service
 * ({@link TestServers}: {@value TestServers#ABORT_HEADER} aborts a call at once, trailers-only),
 * with the guard's meters in {@link #registry()}.
 */
abstract class ServerUnderTest implements AutoCloseable, GuardMeters {
  static final Duration WAIT = Duration.ofSeconds(5);
  static final String BIDI = TestServers.path(TestServers.BIDI);

  final String name;
  /** The guard's policy, or null for a stock server. */
  final ResetPolicy policy;
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  private ServerUnderTest(String name, ResetPolicy policy) {
    this.name = name;
    this.policy = policy;
  }

  /**
   * A grpc-java server: with {@code guardOptions} built like the suite's {@code GuardedTestServer}
   * ({@code guard.forAddress(127.0.0.1:0, InsecureServerCredentials)}), or stock ({@link
   * TestServers#plaintextBuilder()}) when {@code guardOptions} is null; then {@code configure}d.
   * Both answer PINGs at any rate, calls or none, so that the test client's syncs never count as
   * abuse.
   */
  static ServerUnderTest grpc(String name, UnaryOperator<AbortGuard.Builder> guardOptions,
      UnaryOperator<NettyServerBuilder> configure) {
    return new GrpcServer(name, guardOptions, configure);
  }

  /**
   * A frame-codec server: per connection {@code Http2FrameCodec} (as {@code codec} configures it),
   * the guard's handler ({@code guard.http2FrameCodecHandler()}; a disabled guard's removes
   * itself), then {@code Http2MultiplexHandler} with a child per call.
   */
  static ServerUnderTest frameCodec(String name, UnaryOperator<AbortGuard.Builder> guardOptions,
      UnaryOperator<Http2FrameCodecBuilder> codec) {
    return new CodecServer(name, guardOptions, codec);
  }

  abstract int port();

  abstract boolean isGrpc();

  /** Connections the server has accepted and not yet seen closed. */
  abstract int openConnections();

  /** Stops the server at once and waits (bounded) for it to terminate. */
  @Override
  public abstract void close();

  /** Whether the guard is on the connections (false: stock, or the guard disabled). */
  boolean guarded() {
    return policy != null;
  }

  RawHttp2Client connect() {
    return RawHttp2Client.connect("127.0.0.1", port());
  }

  @Override
  public MeterRegistry registry() {
    return registry;
  }

  @Override
  public String toString() {
    return name;
  }

  /** A normal bidi echo call on a new connection: the server still answers. */
  void assertAnswersOnNewConnection(String when) {
    try (RawHttp2Client client = connect()) {
      assertEchoCall(client, when);
    }
  }

  /**
   * A normal bidi echo call on {@code client}'s connection: one message, half-close, the message
   * back and {@code grpc-status 0}. Returns the stream id.
   */
  static int assertEchoCall(RawHttp2Client client, String when) {
    int stream = client.startCall(BIDI, Map.of(), false);
    assertEchoCall(client, stream, when);
    return stream;
  }

  /**
   * Like {@link #assertEchoCall(RawHttp2Client, String)} on a stream already opened (HEADERS sent,
   * without END_STREAM) for {@link #BIDI}.
   */
  static void assertEchoCall(RawHttp2Client client, int stream, String when) {
    byte[] message = ("echo " + when).getBytes(UTF_8);
    client.sendMessage(stream, message, true);
    Frame trailers = client.awaitFrame(f -> f.streamId() == stream && f.endStream(), WAIT);
    assertEquals("0", trailers.header("grpc-status"), when + ": echo call status\n" + client.describeFrames());
    assertArrayEquals(RawHttp2Client.lengthPrefixed(message), client.receivedData(stream),
        when + ": echoed message\n" + client.describeFrames());
  }

  /** grpc-java's Netty server. */
  private static final class GrpcServer extends ServerUnderTest {
    private static final Attributes.Key<Boolean> COUNTED = Attributes.Key.create("hostile.counted");
    private final Server server;
    private final AtomicInteger connections = new AtomicInteger();

    GrpcServer(String name, UnaryOperator<AbortGuard.Builder> guardOptions, UnaryOperator<NettyServerBuilder> configure) {
      // The policy comes from a guard built from the same options without a registry (the real
      // one records into this server's registry, which exists only once super() returned).
      super(name, guardOptions == null ? null : guardOf(guardOptions, null).config().reset());
      NettyServerBuilder builder;
      if (guardOptions == null) {
        builder = TestServers.plaintextBuilder();
      } else {
        AbortGuard guard = guardOf(guardOptions, registry);
        builder = TestServers.configure(guard.forAddress(TestServers.LOOPBACK, InsecureServerCredentials.create()))
            .addService(TestServers.echoService());
      }
      builder.permitKeepAliveWithoutCalls(true);
      builder.addTransportFilter(new ServerTransportFilter() {
        @Override
        public Attributes transportReady(Attributes attributes) {
          connections.incrementAndGet();
          return attributes.toBuilder().set(COUNTED, Boolean.TRUE).build();
        }

        @Override
        public void transportTerminated(Attributes attributes) {
          if (attributes != null && Boolean.TRUE.equals(attributes.get(COUNTED))) {
            connections.decrementAndGet();
          }
        }
      });
      this.server = TestServers.start(configure.apply(builder));
    }

    @Override
    int openConnections() {
      return connections.get();
    }

    @Override
    int port() {
      return server.getPort();
    }

    @Override
    boolean isGrpc() {
      return true;
    }

    @Override
    public void close() {
      TestServers.stop(server);
    }
  }

  private static AbortGuard guardOf(UnaryOperator<AbortGuard.Builder> options, MeterRegistry registry) {
    AbortGuard.Builder builder = AbortGuard.builder().properties(property -> null);
    if (registry != null) {
      builder.meterRegistry(registry);
    }
    return options.apply(builder).build();
  }

  /** A plain Netty frame-codec server, written the way typical Netty gRPC-ish code is. */
  private static final class CodecServer extends ServerUnderTest {
    private final EventLoopGroup bossGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final EventLoopGroup workerGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Channel serverChannel;

    CodecServer(String name, UnaryOperator<AbortGuard.Builder> guardOptions, UnaryOperator<Http2FrameCodecBuilder> codec) {
      super(name, enabledPolicy(guardOptions));
      AbortGuard guard = guardOf(guardOptions, registry);
      ServerBootstrap bootstrap = new ServerBootstrap()
          .group(bossGroup, workerGroup)
          .channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              connections.add(ch);
              ch.pipeline().addLast(codec.apply(Http2FrameCodecBuilder.forServer()
                  .gracefulShutdownTimeoutMillis(1_000)).build());
              ch.pipeline().addLast(guard.http2FrameCodecHandler());
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

    /** The policy of a guard built from these options, or null if they disable it. */
    private static ResetPolicy enabledPolicy(UnaryOperator<AbortGuard.Builder> guardOptions) {
      AbortGuard guard = guardOf(guardOptions, null);
      return guard.config().enabled() ? guard.config().reset() : null;
    }

    @Override
    int port() {
      return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    @Override
    boolean isGrpc() {
      return false;
    }

    @Override
    int openConnections() {
      return connections.size();
    }

    @Override
    public void close() {
      serverChannel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
      connections.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
      shutDownGroups();
    }

    private void shutDownGroups() {
      var boss = bossGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      var workers = workerGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      if (!boss.awaitUninterruptibly(5, TimeUnit.SECONDS) || !workers.awaitUninterruptibly(5, TimeUnit.SECONDS)) {
        throw new IllegalStateException("frame-codec server event loops did not terminate within 5 s");
      }
    }
  }

  /**
   * One call on its child stream channel, as the suite's frame-codec test server answers it: an
   * abort header gets trailers-only and the child closes; {@code x-test-reset-early} closes the
   * child at once; otherwise response headers, each DATA payload echoed, {@code grpc-status 0} on
   * the client's END_STREAM. Every inbound frame is released.
   */
  private static final class CallHandler extends ChannelInboundHandlerAdapter {
    private boolean headersSeen;
    private boolean done;

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
      if (done) {
        return; // request trailers, or a second HEADERS: the call is over
      }
      if (headersSeen) {
        if (frame.isEndStream()) {
          finish(ctx); // request trailers end the request
        }
        return;
      }
      headersSeen = true;
      Http2Headers request = frame.headers();
      if (request.contains("x-test-reset-early")) {
        done = true;
        ctx.close();
        return;
      }
      CharSequence abort = request.get(TestServers.ABORT_HEADER);
      if (abort != null) {
        done = true;
        int code;
        try {
          code = Status.Code.valueOf(abort.toString()).value();
        } catch (IllegalArgumentException e) {
          code = Status.Code.UNKNOWN.value();
        }
        Http2Headers trailers = new DefaultHttp2Headers()
            .status("200")
            .set("content-type", "application/grpc")
            .set("grpc-status", Integer.toString(code))
            .set("grpc-message", TestServers.ABORT_DESCRIPTION);
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(trailers, true)).addListener(ChannelFutureListener.CLOSE);
        return;
      }
      ctx.write(new DefaultHttp2HeadersFrame(
          new DefaultHttp2Headers().status("200").set("content-type", "application/grpc"), false));
      if (frame.isEndStream()) {
        finish(ctx);
      } else {
        ctx.flush();
      }
    }

    private void onData(ChannelHandlerContext ctx, Http2DataFrame data) {
      if (done) {
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

    private void finish(ChannelHandlerContext ctx) {
      done = true;
      ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().set("grpc-status", "0"), true))
          .addListener(ChannelFutureListener.CLOSE);
    }
  }
}
