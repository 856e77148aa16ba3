package dev.abortguard.internal.netty;

import dev.abortguard.internal.Internal;
import dev.abortguard.internal.core.ConnectionDriver;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import java.util.function.Supplier;

/**
 * Where a connection's HTTP/2 handler sits in its pipeline, looked up when first needed (grpc-java
 * and Armeria add theirs only once the protocol is known) and again if it moved. Also where the
 * {@code immediate} policy's flush hook goes: directly below that handler, so that a reset leaves
 * in the flush that carries the trailers, before TLS or any flush consolidation below.
 */
@Internal
public final class HandlerPlace implements Supplier<ChannelHandlerContext> {
  private static final String FLUSH_HOOK_NAME = "abortguard-reset-before-flush";

  private final Channel channel;
  private final ChannelHandler handler;
  private ChannelHandlerContext context;

  /** The place of {@code handler} in {@code channel}'s pipeline. */
  public HandlerPlace(Channel channel, ChannelHandler handler) {
    this.channel = channel;
    this.handler = handler;
  }

  /** The handler's context, or {@code null} while it is not in the pipeline. */
  @Override
  public ChannelHandlerContext get() {
    if (context == null || context.isRemoved()) {
      context = channel.pipeline().context(handler);
    }
    return context;
  }

  /** Puts {@code driver}'s flush hook directly below the handler, once, if the driver wants one. */
  public void addFlushHook(ConnectionDriver driver) {
    ChannelHandlerContext ctx = get();
    if (ctx != null && driver.resetsWithTrailers() && channel.pipeline().get(FLUSH_HOOK_NAME) == null) {
      channel.pipeline().addBefore(ctx.name(), FLUSH_HOOK_NAME, new ResetBeforeFlushHandler(driver));
    }
  }
}
