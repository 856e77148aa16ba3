package dev.abortguard.internal.netty;

import dev.abortguard.internal.GuardParts;
import dev.abortguard.internal.core.ConnectionDriver;
import dev.abortguard.internal.Internal;
import dev.abortguard.internal.core.ConnectionPort;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A Netty HTTP/2 connection as the driver sees it: the connection's event loop, and its {@link
 * Http2ConnectionHandler}'s encoder, through which the guard's resets go like the handler's own
 * (so the encoder's decorators, such as the bound on queued control frames, apply to them too).
 * Shared by the grpc-java, {@code Http2FrameCodec} and Armeria adapters.
 */
@Internal
public final class NettyConnectionPort implements ConnectionPort {
  private final EventExecutor executor;
  /** The executor's clock: what its timers measure delays with (System.nanoTime on event loops). */
  private final LongSupplier clock;
  private final Http2ConnectionHandler handler;
  private final Supplier<ChannelHandlerContext> handlerContext;
  /** Told of each reset the guard writes, on stacks whose handler counts its answers to late frames. */
  private final LateFrameFilter lateFrames;

  /**
   * @param clock nanoseconds on the clock {@code executor} schedules by
   * @param handlerContext the handler's context, looked up when first needed (grpc-java adds its
   *     handler only after protocol negotiation); {@code null} once the handler is gone
   * @param lateFrames told of each stream the guard resets, or {@code null} on stacks that need no
   *     {@link LateFrameFilter}
   */
  public NettyConnectionPort(EventExecutor executor, LongSupplier clock, Http2ConnectionHandler handler,
      Supplier<ChannelHandlerContext> handlerContext, LateFrameFilter lateFrames) {
    this.lateFrames = lateFrames;
    this.executor = executor;
    this.clock = clock;
    this.handler = handler;
    this.handlerContext = handlerContext;
  }

  /**
   * The driver of one connection whose {@code handler} sits in {@code place} of {@code channel}'s
   * pipeline, its port on the channel's event loop: what every adapter over a stack's own {@code
   * Http2ConnectionHandler} (grpc-netty, Armeria, Vert.x) makes first.
   */
  public static ConnectionDriver driver(GuardParts parts, Channel channel, Http2ConnectionHandler handler,
      HandlerPlace place) {
    return driver(parts, channel, handler, place, null);
  }

  /** As above, with the connection's {@link LateFrameFilter} (or {@code null}). */
  public static ConnectionDriver driver(GuardParts parts, Channel channel, Http2ConnectionHandler handler,
      HandlerPlace place, LateFrameFilter lateFrames) {
    return new ConnectionDriver(parts,
        new NettyConnectionPort(channel.eventLoop(), System::nanoTime, handler, place, lateFrames));
  }

  @Override
  public void writeReset(int streamId, ResetWritten done) {
    Http2Stream stream = handler.connection().stream(streamId);
    ChannelHandlerContext ctx = handlerContext.get();
    if (stream == null || stream.state() != Http2Stream.State.HALF_CLOSED_LOCAL || ctx == null) {
      // Closed in a way no listener reported (the codec tearing down): nothing left to reset.
      done.written(false);
      return;
    }
    if (lateFrames != null) {
      lateFrames.released(streamId);
    }
    handler.encoder().writeRstStream(ctx, streamId, Http2Error.NO_ERROR.code(), ctx.newPromise())
        .addListener(f -> done.written(f.isSuccess()));
  }

  @Override
  public void flush() {
    ChannelHandlerContext ctx = handlerContext.get();
    if (ctx != null) {
      ctx.flush();
    }
  }

  @Override
  public void execute(Runnable task) {
    executor.execute(task);
  }

  @Override
  public Runnable schedule(Runnable task, long delayNanos) {
    ScheduledFuture<?> timer = executor.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
    return () -> timer.cancel(false);
  }

  @Override
  public long nanoTime() {
    return clock.getAsLong();
  }

  @Override
  public int peerOpenStreams() {
    return handler.connection().remote().numActiveStreams();
  }

  @Override
  public int peerStreamLimit() {
    return handler.connection().remote().maxActiveStreams();
  }
}
