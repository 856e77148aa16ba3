package dev.abortguard.internal.netty;

import dev.abortguard.internal.Internal;
import dev.abortguard.internal.GuardParts;
import dev.abortguard.internal.core.ConnectionDriver;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerAdapter;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameStreamException;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import java.util.function.LongSupplier;

/**
 * The guard for servers built on Netty's {@link Http2FrameCodec}: goes between the codec and the
 * {@code Http2MultiplexHandler}, one instance per connection.
 *
 * <p>A child stream channel closed after it sent END_STREAM, while the peer has not, writes
 * RST_STREAM(CANCEL) at once. This handler drops that reset and lets the guard's policy decide
 * (its own resets go through the codec). The stream then stays open in the codec with no child
 * behind it: frames the peer still sends on it are answered here, DATA consumed so that the
 * connection's flow-control window does not leak, request trailers taken as the peer's end, a
 * stream error answered with RST_STREAM as the child would have.
 */
@Internal
public final class EarlyCloseFrameHandler extends ChannelDuplexHandler {
  private final GuardParts parts;
  private final LongSupplier clock;
  private Http2Connection connection;
  /** Marks streams whose child channel is gone while the codec keeps them open. */
  private Http2Connection.PropertyKey orphaned;
  private ConnectionDriver driver;
  private boolean windowUpdatesWritten;

  /** A handler for one connection, timed by {@link System#nanoTime()} like Netty's event loops. */
  public EarlyCloseFrameHandler(GuardParts parts) {
    this(parts, System::nanoTime);
  }

  /** A handler whose grace is measured on {@code clock}, the clock its event loop schedules by. */
  public EarlyCloseFrameHandler(GuardParts parts, LongSupplier clock) {
    this.parts = parts;
    this.clock = clock;
  }

  /** What a disabled guard puts in a pipeline instead: a handler that takes itself out again. */
  public static ChannelHandler removingItself() {
    return new ChannelHandlerAdapter() {
      @Override
      public void handlerAdded(ChannelHandlerContext ctx) {
        ctx.pipeline().remove(this);
      }
    };
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    Http2FrameCodec codec = ctx.pipeline().get(Http2FrameCodec.class);
    if (codec == null || ctx.pipeline().context(codec) == null) {
      throw new IllegalStateException("abortguard's http2FrameCodecHandler() goes directly after an "
          + "Http2FrameCodec in the pipeline (and before the Http2MultiplexHandler): "
          + "pipeline.addLast(codec, guard.http2FrameCodecHandler(), new Http2MultiplexHandler(...))");
    }
    ChannelHandlerContext codecContext = ctx.pipeline().context(codec);
    connection = codec.connection();
    orphaned = connection.newKey();
    // This handler is itself the flush hook: resets go through the codec just before a flush
    // passes on to it.
    // The codec's builder counts its answers to late frames (Netty's MadeYouReset limit): the
    // filter keeps the peer's frames on streams the guard reset from it.
    LateFrameFilter lateFrames = new LateFrameFilter(codec);
    lateFrames.install(codecContext);
    driver = new ConnectionDriver(parts,
        new NettyConnectionPort(ctx.executor(), clock, codec, () -> codecContext, lateFrames));
    connection.addListener(new StreamStateListener(driver, () -> { }, StreamStateListener.EarlyCloses.NONE));
    ctx.channel().closeFuture().addListener(f -> driver.connectionClosed());
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
    if (msg instanceof Http2ResetFrame && isEarlyCloseReset((Http2ResetFrame) msg)) {
      promise.trySuccess();
      return;
    }
    super.write(ctx, msg, promise);
  }

  @Override
  public void flush(ChannelHandlerContext ctx) throws Exception {
    driver.writePendingResets();
    super.flush(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (!(msg instanceof Http2StreamFrame)) {
      super.channelRead(ctx, msg);
      return;
    }
    Http2StreamFrame frame = (Http2StreamFrame) msg;
    int streamId = frame.stream() == null ? 0 : frame.stream().id();
    if (msg instanceof Http2ResetFrame) {
      // The codec fires the frame before it closes the stream: this counts as a peer reset.
      driver.peerReset(streamId);
    }
    Http2Stream stream = streamId == 0 ? null : connection.stream(streamId);
    if (stream == null || stream.getProperty(orphaned) == null) {
      super.channelRead(ctx, msg);
      return;
    }
    // No child to take it. END_STREAM on HEADERS or DATA closes the stream in the codec after
    // this returns, which the guard counts as the peer's end.
    try {
      if (msg instanceof Http2DataFrame) {
        returnWindow(ctx, (Http2DataFrame) msg);
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  /**
   * A stream error on a stream the server has ended: the codec hands it to the stream's child,
   * which resets with CANCEL as it closes, a reset this handler would take for the early close's
   * and withhold. So the stream is reset here with the error's own code, as HTTP/2 asks, whether
   * the child is still there or already gone.
   */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
    if (cause instanceof Http2FrameStreamException) {
      Http2FrameStreamException error = (Http2FrameStreamException) cause;
      Http2Stream stream = error.stream() == null ? null : connection.stream(error.stream().id());
      if (stream != null && stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
        // From this context the reset goes straight to the codec, past this handler's own filter.
        ctx.writeAndFlush(new DefaultHttp2ResetFrame(error.error()).stream(error.stream()));
        if (stream.getProperty(orphaned) != null) {
          return; // no child to tell
        }
      }
    }
    super.exceptionCaught(ctx, cause);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
    // Children return the bytes they read on read-complete: let them see it before this flush
    // sends trailers whose listeners close those children.
    super.channelReadComplete(ctx);
    if (windowUpdatesWritten) {
      windowUpdatesWritten = false;
      ctx.flush();
    }
  }

  /**
   * Whether a reset a child wrote is the one a child writes when it closes after END_STREAM with
   * the peer still open: that one is the guard's to decide. A reset for a stream already closed
   * would only repeat one; others pass.
   */
  private boolean isEarlyCloseReset(Http2ResetFrame reset) {
    Http2Stream stream = reset.stream() == null ? null : connection.stream(reset.stream().id());
    if (stream == null || stream.state() == Http2Stream.State.CLOSED) {
      return true;
    }
    if (stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
      stream.setProperty(orphaned, Boolean.TRUE);
      return true;
    }
    return false;
  }

  private void returnWindow(ChannelHandlerContext ctx, Http2DataFrame data) {
    int bytes = data.initialFlowControlledBytes();
    if (bytes > 0) {
      ctx.write(new DefaultHttp2WindowUpdateFrame(bytes).stream(data.stream()));
      windowUpdatesWritten = true;
    }
  }
}
