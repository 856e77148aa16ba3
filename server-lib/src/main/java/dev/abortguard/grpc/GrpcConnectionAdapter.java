package dev.abortguard.grpc;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.ResetPolicy;
import dev.abortguard.core.LingeringStreamListener;
import dev.abortguard.netty.ConnectionGuard;
import dev.abortguard.netty.ResetBeforeFlushHandler;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2Stream;

/**
 * Translates one grpc-java connection's HTTP/2 events into {@link ConnectionGuard} calls, and its
 * decisions into RST_STREAM frames written through grpc-java's own handler, so the codec's stream
 * states stay right.
 */
final class GrpcConnectionAdapter extends Http2ConnectionAdapter implements ConnectionGuard.ResetWriter {
  private final Channel channel;
  private final Http2ConnectionHandler handler;
  private final ConnectionGuard guard;
  private final boolean resetsWithTrailers;
  private ChannelHandlerContext handlerContext;

  private GrpcConnectionAdapter(
      Channel channel, Http2ConnectionHandler handler, AbortGuardConfig config, LingeringStreamListener listener) {
    this.channel = channel;
    this.handler = handler;
    this.guard = new ConnectionGuard(channel.eventLoop(), config, listener, this);
    this.resetsWithTrailers = config.reset() == ResetPolicy.IMMEDIATE;
  }

  /** Starts watching {@code handler}, grpc-java's handler for {@code channel}. Call on the event loop. */
  static void attach(
      Channel channel, Http2ConnectionHandler handler, AbortGuardConfig config, LingeringStreamListener listener) {
    GrpcConnectionAdapter adapter = new GrpcConnectionAdapter(channel, handler, config, listener);
    handler.connection().addListener(adapter);
    handler.decoder().frameListener(new Http2FrameListenerDecorator(handler.decoder().frameListener()) {
      @Override
      public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode)
          throws io.netty.handler.codec.http2.Http2Exception {
        // Before the codec closes the stream, so that the release is counted as a peer reset.
        adapter.guard.peerReset(streamId);
        super.onRstStreamRead(ctx, streamId, errorCode);
      }
    });
    channel.closeFuture().addListener(f -> adapter.guard.connectionClosed());
  }

  @Override
  public void onStreamHalfClosed(Http2Stream stream) {
    if (stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
      if (resetsWithTrailers) {
        installFlushHook();
      }
      guard.serverEnded(stream.id());
    }
  }

  @Override
  public void onStreamClosed(Http2Stream stream) {
    // Streams the guard reset itself, or the peer reset, are already forgotten; what is left
    // closed because the peer ended its side.
    guard.peerEnded(stream.id());
  }

  @Override
  public void onGoAwaySent(int lastStreamId, long errorCode, ByteBuf debugData) {
    guard.goAwaySent();
  }

  @Override
  public void writeReset(int streamId) {
    Http2Stream stream = handler.connection().stream(streamId);
    if (stream != null && stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
      ChannelHandlerContext ctx = handlerContext();
      handler.resetStream(ctx, streamId, Http2Error.NO_ERROR.code(), ctx.newPromise());
    }
  }

  @Override
  public void flush() {
    handlerContext().flush();
  }

  private ChannelHandlerContext handlerContext() {
    if (handlerContext == null) {
      handlerContext = channel.pipeline().context(handler);
    }
    return handlerContext;
  }

  // grpc-java's handler joins the pipeline only after protocol negotiation (TLS included), so
  // the hook goes in on first use, directly below it: above any SslHandler, which would
  // otherwise hold the reset back until the next flush.
  private void installFlushHook() {
    if (channel.pipeline().get(ResetBeforeFlushHandler.class) == null) {
      channel.pipeline().addBefore(handlerContext().name(), "abortguard-reset-before-flush",
          new ResetBeforeFlushHandler(guard));
    }
  }
}
