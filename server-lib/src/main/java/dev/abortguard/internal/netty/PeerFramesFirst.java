package dev.abortguard.internal.netty;

import dev.abortguard.internal.Internal;
import dev.abortguard.internal.core.ConnectionDriver;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2Stream;

/**
 * Reads the peer's frames before the stack's own frame listener does: each Netty-based adapter
 * (grpc-netty, Armeria, Vert.x) decorates its stack's decoder listener with a subclass. Here: the
 * peer's RST_STREAM reaches the driver before the codec closes the stream, so that its release
 * counts as the peer's reset. Subclasses add what their stack gets wrong about frames on a stream
 * the server has already ended ({@link DataAbsorbingPeerFrames} for DATA). DATA passes straight
 * on here: grpc-netty's hot path does not go through the guard.
 */
@Internal
public abstract class PeerFramesFirst extends Http2FrameListenerDecorator {
  private final Http2Connection connection;
  private final ConnectionDriver driver;

  protected PeerFramesFirst(Http2FrameListener delegate, Http2Connection connection, ConnectionDriver driver) {
    super(delegate);
    this.connection = connection;
    this.driver = driver;
  }

  @Override
  public final void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) throws Http2Exception {
    peerResetting(stream(streamId));
    driver.peerReset(streamId);
    super.onRstStreamRead(ctx, streamId, errorCode);
  }

  /** Called for the peer's RST_STREAM on {@code stream} (null: unknown) before the driver hears of it. */
  protected void peerResetting(Http2Stream stream) {}

  /** The connection's stream {@code streamId}, or null. */
  protected final Http2Stream stream(int streamId) {
    return connection.stream(streamId);
  }

  /** Whether the server has ended {@code stream} and the peer has not: the call on it is over. */
  protected static boolean endedByServer(Http2Stream stream) {
    return stream != null && stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL;
  }
}
