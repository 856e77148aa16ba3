package dev.abortguard.probe;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * The first handler of the probe's connection, before TLS: numbers and timestamps the socket
 * reads, so frames can be told apart by whether they arrived together, and keeps the first bytes the peer sent, so a
 * peer that is not an HTTP/2 server can be named (HTTP/1, TLS, something else).
 *
 * <p>Frames decoded while handling read <i>n</i> were delivered by read <i>n</i>: TLS and the HTTP/2
 * decoder run synchronously inside this handler's {@code fireChannelRead}.
 */
final class InboundReads extends ChannelInboundHandlerAdapter {
  private static final int FIRST_BYTES = 64;

  private long reads;
  private long readNanos;
  // Read by the checking thread to explain a failed connection.
  private volatile byte[] firstBytes = new byte[0];

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    reads++;
    readNanos = System.nanoTime();
    if (firstBytes.length < FIRST_BYTES && msg instanceof ByteBuf) {
      ByteBuf buf = (ByteBuf) msg;
      int take = Math.min(FIRST_BYTES - firstBytes.length, buf.readableBytes());
      byte[] more = ByteBufUtil.getBytes(buf, buf.readerIndex(), take);
      byte[] joined = new byte[firstBytes.length + take];
      System.arraycopy(firstBytes, 0, joined, 0, firstBytes.length);
      System.arraycopy(more, 0, joined, firstBytes.length, take);
      firstBytes = joined;
    }
    ctx.fireChannelRead(msg);
  }

  /** The number of the read being handled (1 for the first); event loop only. */
  long current() {
    return reads;
  }

  /**
   * When the read being handled began ({@link System#nanoTime()}): the arrival time of every frame
   * it delivers. Timing each frame's callback instead would add the decoder's and the scheduler's
   * delays to the gaps between frames that arrived together.
   */
  long currentNanos() {
    return readNanos;
  }

  /** Up to the first 64 bytes the peer sent, before TLS. */
  byte[] firstBytes() {
    return firstBytes.clone();
  }
}
