package dev.abortguard.internal.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Flags;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;

/**
 * A decoder's frame listener, decorated to say each time a frame has ended (every callback comes
 * at a frame's last byte): how {@link LateFrameFilter} finds the frame boundary of a connection it
 * joins while it runs.
 */
final class FrameEnds extends Http2FrameListenerDecorator {
  private final Runnable frameEnded;

  FrameEnds(Http2FrameListener delegate, Runnable frameEnded) {
    super(delegate);
    this.frameEnded = frameEnded;
  }

  @Override
  public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream)
      throws Http2Exception {
    frameEnded.run();
    return super.onDataRead(ctx, streamId, data, padding, endOfStream);
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
      boolean endStream) throws Http2Exception {
    frameEnded.run();
    super.onHeadersRead(ctx, streamId, headers, padding, endStream);
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
      short weight, boolean exclusive, int padding, boolean endStream)
      throws Http2Exception {
    frameEnded.run();
    super.onHeadersRead(ctx, streamId, headers, streamDependency, weight, exclusive, padding, endStream);
  }

  @Override
  public void onPriorityRead(ChannelHandlerContext ctx, int streamId, int streamDependency, short weight,
      boolean exclusive) throws Http2Exception {
    frameEnded.run();
    super.onPriorityRead(ctx, streamId, streamDependency, weight, exclusive);
  }

  @Override
  public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode)
      throws Http2Exception {
    frameEnded.run();
    super.onRstStreamRead(ctx, streamId, errorCode);
  }

  @Override
  public void onSettingsAckRead(ChannelHandlerContext ctx) throws Http2Exception {
    frameEnded.run();
    super.onSettingsAckRead(ctx);
  }

  @Override
  public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings)
      throws Http2Exception {
    frameEnded.run();
    super.onSettingsRead(ctx, settings);
  }

  @Override
  public void onPingRead(ChannelHandlerContext ctx, long data) throws Http2Exception {
    frameEnded.run();
    super.onPingRead(ctx, data);
  }

  @Override
  public void onPingAckRead(ChannelHandlerContext ctx, long data) throws Http2Exception {
    frameEnded.run();
    super.onPingAckRead(ctx, data);
  }

  @Override
  public void onPushPromiseRead(ChannelHandlerContext ctx, int streamId, int promisedStreamId, Http2Headers headers,
      int padding) throws Http2Exception {
    frameEnded.run();
    super.onPushPromiseRead(ctx, streamId, promisedStreamId, headers, padding);
  }

  @Override
  public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData)
      throws Http2Exception {
    frameEnded.run();
    super.onGoAwayRead(ctx, lastStreamId, errorCode, debugData);
  }

  @Override
  public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int windowSizeIncrement)
      throws Http2Exception {
    frameEnded.run();
    super.onWindowUpdateRead(ctx, streamId, windowSizeIncrement);
  }

  @Override
  public void onUnknownFrame(ChannelHandlerContext ctx, byte frameType, int streamId, Http2Flags flags,
      ByteBuf payload) throws Http2Exception {
    frameEnded.run();
    super.onUnknownFrame(ctx, frameType, streamId, flags, payload);
  }
}
