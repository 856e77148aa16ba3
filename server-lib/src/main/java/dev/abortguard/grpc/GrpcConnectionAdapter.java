package dev.abortguard.grpc;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.ResetPolicy;
import dev.abortguard.core.LingeringStreamListener;
import dev.abortguard.netty.ConnectionGuard;
import dev.abortguard.netty.HandlerResetWriter;
import dev.abortguard.netty.ResetBeforeFlushHandler;
import dev.abortguard.netty.StreamStateListener;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;

/**
 * Attaches a {@link ConnectionGuard} to one grpc-java connection: its handler's stream events
 * drive the guard, and the guard's resets go out through that handler.
 */
final class GrpcConnectionAdapter {
  private final Channel channel;
  private final Http2ConnectionHandler handler;
  private final ConnectionGuard guard;
  private ChannelHandlerContext handlerContext;

  private GrpcConnectionAdapter(
      Channel channel, Http2ConnectionHandler handler, AbortGuardConfig config, LingeringStreamListener listener) {
    this.channel = channel;
    this.handler = handler;
    this.guard = new ConnectionGuard(
        channel.eventLoop(), config, listener, new HandlerResetWriter(handler, this::handlerContext));
  }

  /** Starts watching {@code handler}, grpc-java's handler for {@code channel}. Call on the event loop. */
  static void attach(
      Channel channel, Http2ConnectionHandler handler, AbortGuardConfig config, LingeringStreamListener listener) {
    GrpcConnectionAdapter adapter = new GrpcConnectionAdapter(channel, handler, config, listener);
    ConnectionGuard guard = adapter.guard;
    Runnable beforeFirstEarlyClose =
        config.reset() == ResetPolicy.IMMEDIATE ? adapter::installFlushHook : () -> { };
    handler.connection().addListener(new StreamStateListener(guard, beforeFirstEarlyClose));
    handler.decoder().frameListener(new Http2FrameListenerDecorator(handler.decoder().frameListener()) {
      @Override
      public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) throws Http2Exception {
        // Before the codec closes the stream, so that the release counts as a peer reset.
        guard.peerReset(streamId);
        super.onRstStreamRead(ctx, streamId, errorCode);
      }
    });
    channel.closeFuture().addListener(f -> guard.connectionClosed());
  }

  private ChannelHandlerContext handlerContext() {
    if (handlerContext == null) {
      handlerContext = channel.pipeline().context(handler);
    }
    return handlerContext;
  }

  // grpc-java's handler joins the pipeline only after protocol negotiation (TLS included), so
  // the hook goes in on first use, directly below it: above any SslHandler, which would
  // otherwise hold an immediate reset back until the next flush.
  private void installFlushHook() {
    channel.pipeline().addBefore(handlerContext().name(), "abortguard-reset-before-flush",
        new ResetBeforeFlushHandler(guard));
  }
}
