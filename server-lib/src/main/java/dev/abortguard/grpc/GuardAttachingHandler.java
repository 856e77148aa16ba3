package dev.abortguard.grpc;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.core.LingeringStreamListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerAdapter;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2ConnectionHandler;

/**
 * Stands in for a negotiation handler just long enough to learn the connection's channel, attaches
 * a {@link GrpcConnectionAdapter}, and puts the negotiation handler in its place.
 */
final class GuardAttachingHandler extends ChannelHandlerAdapter {
  private final Http2ConnectionHandler grpcHandler;
  private final ChannelHandler negotiationHandler;
  private final AbortGuardConfig config;
  private final LingeringStreamListener listener;

  GuardAttachingHandler(
      Http2ConnectionHandler grpcHandler,
      ChannelHandler negotiationHandler,
      AbortGuardConfig config,
      LingeringStreamListener listener) {
    this.grpcHandler = grpcHandler;
    this.negotiationHandler = negotiationHandler;
    this.config = config;
    this.listener = listener;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    GrpcConnectionAdapter.attach(ctx.channel(), grpcHandler, config, listener);
    ctx.pipeline().replace(this, null, negotiationHandler);
  }
}
