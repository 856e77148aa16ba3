package dev.abortguard.netty;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Stream;
import java.util.function.Supplier;

/**
 * Writes a guard's resets through the connection's own {@link Http2ConnectionHandler}, so that the
 * codec's stream states stay right, and only for streams still half-closed by the server.
 */
public final class HandlerResetWriter implements ConnectionGuard.ResetWriter {
  private final Http2ConnectionHandler handler;
  private final Supplier<ChannelHandlerContext> handlerContext;

  /**
   * @param handlerContext the handler's context, looked up when first needed (grpc-java adds its
   *     handler only after protocol negotiation)
   */
  public HandlerResetWriter(Http2ConnectionHandler handler, Supplier<ChannelHandlerContext> handlerContext) {
    this.handler = handler;
    this.handlerContext = handlerContext;
  }

  @Override
  public void writeReset(int streamId) {
    Http2Stream stream = handler.connection().stream(streamId);
    if (stream != null && stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
      ChannelHandlerContext ctx = handlerContext.get();
      handler.resetStream(ctx, streamId, Http2Error.NO_ERROR.code(), ctx.newPromise());
    }
  }

  @Override
  public void flush() {
    handlerContext.get().flush();
  }
}
