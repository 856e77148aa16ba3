package dev.abortguard.internal.netty;

import dev.abortguard.internal.Internal;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;

/**
 * Sits just below an HTTP/2 handler and writes the resets its {@link ConnectionGuard} decided
 * before letting a flush through, so that an {@code immediate} RST_STREAM leaves in the same
 * flush as the trailers that caused it.
 */
@Internal
public final class ResetBeforeFlushHandler extends ChannelOutboundHandlerAdapter {
  private final ConnectionGuard guard;

  /** A hook for {@code guard}, one per connection. */
  public ResetBeforeFlushHandler(ConnectionGuard guard) {
    this.guard = guard;
  }

  @Override
  public void flush(ChannelHandlerContext ctx) {
    guard.writePendingResets();
    ctx.flush();
  }
}
