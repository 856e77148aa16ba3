package dev.abortguard.armeria;

import dev.abortguard.internal.GuardParts;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import java.util.function.BooleanSupplier;

/**
 * Waits at the head of a new Armeria connection's pipeline for Armeria's HTTP/2 handler, attaches
 * an {@link ArmeriaConnectionAdapter} to it, and leaves.
 *
 * <p>Armeria adds its HTTP/2 handler only once it knows the protocol (after the client's preface,
 * ALPN or an h2c upgrade), well after the pipeline customizer ran. That handler writes and flushes
 * its SETTINGS as it joins the pipeline, before it reads a single frame, and every write passes
 * here on its way to the socket, after TLS too: the first write that finds the handler is the
 * moment to attach. An HTTP/1 connection that can no longer upgrade loses the watch.
 */
final class Http2HandlerWatch extends ChannelOutboundHandlerAdapter {
  static final String NAME = "abortguard-http2-watch";

  private final GuardParts parts;
  private final BooleanSupplier serverStopping;

  Http2HandlerWatch(GuardParts parts, BooleanSupplier serverStopping) {
    this.parts = parts;
    this.serverStopping = serverStopping;
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
    ChannelPipeline pipeline = ctx.pipeline();
    Http2ConnectionHandler handler = pipeline.get(Http2ConnectionHandler.class);
    if (handler != null) {
      ArmeriaConnectionAdapter.attach(ctx.channel(), handler, parts, serverStopping);
      pipeline.remove(this);
    } else if (pipeline.get(HttpServerCodec.class) != null && pipeline.get(HttpServerUpgradeHandler.class) == null) {
      pipeline.remove(this); // HTTP/1 for good
    }
    ctx.write(msg, promise);
  }
}
