package dev.abortguard.armeria;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2LifecycleManager;
import io.netty.handler.codec.http2.Http2Stream;

/**
 * The lifecycle manager of an Armeria connection's encoder: passes everything on to the connection
 * handler, except the RST_STREAM(CANCEL) Armeria writes for a stream the server has ended while the
 * peer has not, which it withholds so that the guard's policy decides.
 *
 * <p>Armeria resets such a stream once its request and response are complete
 * ({@code HttpServerHandler} → {@code ServerHttp2ObjectEncoder#maybeResetStream} →
 * {@code Http2StreamLifecycleHandler}, which writes through the encoder), at once by default or
 * after the service's {@code closeHttp2StreamDelayMillis}. That option cannot be set server-wide
 * (Armeria reads it from the undecorated service), so the reset is held back here instead, on every
 * connection. Netty's own resets, and the guard's, go through the handler directly and pass.
 */
final class EarlyCloseResetFilter implements Http2LifecycleManager {
  private final Http2ConnectionHandler handler;

  EarlyCloseResetFilter(Http2ConnectionHandler handler) {
    this.handler = handler;
  }

  @Override
  public ChannelFuture resetStream(ChannelHandlerContext ctx, int streamId, long errorCode, ChannelPromise promise) {
    if (errorCode == Http2Error.CANCEL.code()) {
      Http2Stream stream = handler.connection().stream(streamId);
      if (stream != null && stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
        ChannelPromise withheld = promise.unvoid();
        withheld.trySuccess();
        return withheld;
      }
    }
    return handler.resetStream(ctx, streamId, errorCode, promise);
  }

  @Override
  public void closeStreamLocal(Http2Stream stream, ChannelFuture future) {
    handler.closeStreamLocal(stream, future);
  }

  @Override
  public void closeStreamRemote(Http2Stream stream, ChannelFuture future) {
    handler.closeStreamRemote(stream, future);
  }

  @Override
  public void closeStream(Http2Stream stream, ChannelFuture future) {
    handler.closeStream(stream, future);
  }

  @Override
  public ChannelFuture goAway(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData,
      ChannelPromise promise) {
    return handler.goAway(ctx, lastStreamId, errorCode, debugData, promise);
  }

  @Override
  public void onError(ChannelHandlerContext ctx, boolean outbound, Throwable cause) {
    handler.onError(ctx, outbound, cause);
  }
}
