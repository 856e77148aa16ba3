package dev.abortguard.netty;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.core.LingeringStreamListener;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Stream;
import java.util.HashSet;
import java.util.Set;

/**
 * The guard for servers built on Netty's {@link Http2FrameCodec}: goes between the codec and the
 * {@code Http2MultiplexHandler}, one instance per connection.
 *
 * <p>A child stream channel closed after it sent END_STREAM, while the peer has not, writes
 * RST_STREAM(CANCEL) at once. This handler holds such resets to the guard's policy: withheld
 * under {@code deferred} (and reset with NO_ERROR after the grace), dropped under {@code never},
 * and sent as NO_ERROR with the trailers under {@code immediate}. Other resets pass untouched.
 * DATA the peer still sends on a stream whose child is gone is consumed here, so the connection's
 * flow-control window does not leak.
 */
public final class EarlyCloseFrameHandler extends ChannelDuplexHandler {
  private final AbortGuardConfig config;
  private final LingeringStreamListener listener;
  private Http2Connection connection;
  private ConnectionGuard guard;
  /** Lingering streams whose child channel closed (its reset was withheld). */
  private final Set<Integer> orphaned = new HashSet<>();
  private boolean windowUpdatesWritten;

  public EarlyCloseFrameHandler(AbortGuardConfig config, LingeringStreamListener listener) {
    this.config = config;
    this.listener = listener;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    Http2FrameCodec codec = ctx.pipeline().get(Http2FrameCodec.class);
    if (codec == null) {
      throw new IllegalStateException(
          "EarlyCloseFrameHandler goes after an Http2FrameCodec in the pipeline (and before the Http2MultiplexHandler)");
    }
    ChannelHandlerContext codecContext = ctx.pipeline().context(codec);
    connection = codec.connection();
    // This handler is itself the flush hook: resets go through the codec just before a flush
    // passes on to it.
    guard = new ConnectionGuard(ctx.executor(), config, listener, new HandlerResetWriter(codec, () -> codecContext));
    connection.addListener(new StreamStateListener(guard, () -> { }));
    connection.addListener(new Http2ConnectionAdapter() {
      @Override
      public void onStreamClosed(Http2Stream stream) {
        orphaned.remove(stream.id());
      }
    });
    ctx.channel().closeFuture().addListener(f -> {
      guard.connectionClosed();
      orphaned.clear();
    });
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
    if (msg instanceof Http2ResetFrame && !isResetToPass((Http2ResetFrame) msg)) {
      promise.trySuccess();
      return;
    }
    super.write(ctx, msg, promise);
  }

  @Override
  public void flush(ChannelHandlerContext ctx) throws Exception {
    guard.writePendingResets();
    super.flush(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (msg instanceof Http2ResetFrame) {
      int streamId = ((Http2ResetFrame) msg).stream().id();
      // The codec fires the frame before it closes the stream: this counts as a peer reset.
      guard.peerReset(streamId);
    } else if (msg instanceof Http2DataFrame && orphaned.contains(((Http2DataFrame) msg).stream().id())) {
      consume(ctx, (Http2DataFrame) msg);
      return;
    }
    super.channelRead(ctx, msg);
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
   * Whether a reset a child wrote goes to the codec. The one a child writes when it closes after
   * END_STREAM, with the peer still open, is the guard's to decide; one for a stream that is
   * already closed (the guard reset it) would only repeat a reset.
   */
  private boolean isResetToPass(Http2ResetFrame reset) {
    int streamId = reset.stream().id();
    Http2Stream stream = connection.stream(streamId);
    if (stream == null || stream.state() == Http2Stream.State.CLOSED) {
      return false;
    }
    if (stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
      if (guard.isLingering(streamId)) {
        orphaned.add(streamId);
      }
      return false;
    }
    return true;
  }

  private void consume(ChannelHandlerContext ctx, Http2DataFrame data) {
    try {
      int bytes = data.initialFlowControlledBytes();
      if (bytes > 0) {
        ctx.write(new DefaultHttp2WindowUpdateFrame(bytes).stream(data.stream()));
        windowUpdatesWritten = true;
      }
    } finally {
      data.release();
    }
  }
}
