package dev.abortguard.netty;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2Stream;

/**
 * Reports an HTTP/2 connection's stream state changes to its {@link ConnectionGuard}: the server
 * ending a stream the peer still has open, streams closing, and GOAWAY going out. Peer resets are
 * not visible here; each adapter reports those from the frame it reads.
 */
public final class StreamStateListener extends Http2ConnectionAdapter {
  private final ConnectionGuard guard;
  private final Runnable beforeFirstEarlyClose;
  private boolean sawEarlyClose;

  /**
   * @param beforeFirstEarlyClose run once, before the first early close is reported (adapters
   *     that need a flush hook install it there)
   */
  public StreamStateListener(ConnectionGuard guard, Runnable beforeFirstEarlyClose) {
    this.guard = guard;
    this.beforeFirstEarlyClose = beforeFirstEarlyClose;
  }

  @Override
  public void onStreamHalfClosed(Http2Stream stream) {
    if (stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
      if (!sawEarlyClose) {
        sawEarlyClose = true;
        beforeFirstEarlyClose.run();
      }
      guard.serverEnded(stream.id());
    }
  }

  @Override
  public void onStreamClosed(Http2Stream stream) {
    // Streams the guard reset, or the peer reset, are already forgotten; one that is still
    // lingering here closed because the peer ended its side.
    guard.peerEnded(stream.id());
  }

  @Override
  public void onGoAwaySent(int lastStreamId, long errorCode, ByteBuf debugData) {
    guard.goAwaySent();
  }
}
