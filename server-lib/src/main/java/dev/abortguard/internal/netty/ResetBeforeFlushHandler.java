package dev.abortguard.internal.netty;

import dev.abortguard.internal.Internal;
import dev.abortguard.internal.core.ConnectionDriver;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;

/**
 * Sits just below an HTTP/2 handler and writes the resets its {@link ConnectionDriver} decided
 * before letting a flush through, so that an {@code immediate} RST_STREAM leaves in the same
 * flush as the trailers that caused it.
 */
@Internal
public final class ResetBeforeFlushHandler extends ChannelOutboundHandlerAdapter {
  private final ConnectionDriver driver;

  /** A hook for {@code driver}, one per connection. */
  public ResetBeforeFlushHandler(ConnectionDriver driver) {
    this.driver = driver;
  }

  @Override
  public void flush(ChannelHandlerContext ctx) {
    driver.writePendingResets();
    ctx.flush();
  }
}
