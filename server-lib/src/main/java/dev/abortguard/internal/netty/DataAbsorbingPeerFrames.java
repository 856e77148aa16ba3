package dev.abortguard.internal.netty;

import dev.abortguard.internal.Internal;
import dev.abortguard.internal.core.ConnectionDriver;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2Stream;

/**
 * {@link PeerFramesFirst} for stacks that would hold the peer's DATA on a stream whose call is
 * over (Armeria, Vert.x): such DATA is absorbed here, its bytes returned to the connection's window
 * at once, where the subclass says.
 */
@Internal
public abstract class DataAbsorbingPeerFrames extends PeerFramesFirst {
  protected DataAbsorbingPeerFrames(Http2FrameListener delegate, Http2Connection connection, ConnectionDriver driver) {
    super(delegate, connection, driver);
  }

  @Override
  public final int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream)
      throws Http2Exception {
    Http2Stream stream = stream(streamId);
    peerData(stream, endOfStream);
    if (!absorbsDataOf(stream)) {
      return super.onDataRead(ctx, streamId, data, padding, endOfStream);
    }
    // The call on the stream is over: its bytes go back to the connection's window now, instead of
    // waiting in the stack's request queue until the stream closes.
    if (endOfStream && passesOnTheEnd()) {
      super.onDataRead(ctx, streamId, Unpooled.EMPTY_BUFFER, 0, true);
    }
    return data.readableBytes() + padding;
  }

  /** Called for the peer's DATA on {@code stream} (null: unknown) before it is passed on or absorbed. */
  protected void peerData(Http2Stream stream, boolean endOfStream) {}

  /** Whether the peer's DATA on {@code stream} is absorbed here rather than passed on. */
  protected abstract boolean absorbsDataOf(Http2Stream stream);

  /** Whether the stack must still see the END_STREAM of absorbed DATA (as an empty last frame). */
  protected boolean passesOnTheEnd() {
    return false;
  }
}
