package dev.abortguard.docs;

import static dev.abortguard.docs.DocServers.assertEnds;
import static dev.abortguard.docs.DocServers.awaitCount;
import static dev.abortguard.docs.DocServers.count;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.AbortGuard;
import dev.abortguard.sample.DemoCalls;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrame;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The snippet of docs/frame-codec.md: a plain Netty server whose streams reject every call with a
 * trailers-only PERMISSION_DENIED and close their channel, the usual way of Netty code, with the
 * guard's handler between the codec and the multiplexer.
 */
class FrameCodecSnippetsTest {
  private final MeterRegistry meterRegistry = new SimpleMeterRegistry();

  @Test
  void handlerBetweenCodecAndMultiplexer() throws Exception {
    AbortGuard guard = AbortGuard.builder().meterRegistry(meterRegistry).build();
    ChannelHandler childInitializer = new ChannelInitializer<Http2StreamChannel>() {
      @Override
      protected void initChannel(Http2StreamChannel stream) {
        stream.pipeline().addLast(new RejectingStream());
      }
    };
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try {
      Channel server = new ServerBootstrap()
          .group(group)
          .channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              // tag::frame-codec[]
              ch.pipeline().addLast(
                  Http2FrameCodecBuilder.forServer().build(),
                  guard.http2FrameCodecHandler(),
                  new Http2MultiplexHandler(childInitializer));
              // end::frame-codec[]
            }
          })
          .bind("127.0.0.1", 0).sync().channel();
      int port = ((InetSocketAddress) server.localAddress()).getPort();

      assertEnds(Status.Code.PERMISSION_DENIED, DemoCalls.channel(port));
      // The stream lingered, the child's CANCEL withheld, until the client reset it (peer_reset) or
      // closed its connection first (connection_closed); a CANCEL let through would be server_reset.
      awaitCount(meterRegistry, s -> s, "grpc.server.streams.released", 1);
      assertEquals(0, count(meterRegistry, "grpc.server.streams.released", "server_reset"));
      server.close().sync();
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  /** Answers a call's HEADERS with a trailers-only PERMISSION_DENIED, then closes its channel. */
  private static final class RejectingStream extends SimpleChannelInboundHandler<Http2StreamFrame> {
    private boolean answered;

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Http2StreamFrame frame) {
      if (frame instanceof Http2HeadersFrame && !answered) {
        answered = true;
        Http2Headers trailers = new DefaultHttp2Headers()
            .status("200")
            .set("content-type", "application/grpc")
            .setInt("grpc-status", Status.Code.PERMISSION_DENIED.value())
            .set("grpc-message", "denied by the doc snippet");
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(trailers, true)).addListener(ChannelFutureListener.CLOSE);
      }
    }
  }
}
