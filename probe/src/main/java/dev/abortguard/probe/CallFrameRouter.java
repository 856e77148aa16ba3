package dev.abortguard.probe;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The recording half of the probe's connection: hands every frame the decoder read on a watched
 * call's stream to its {@link CallRecord}, with the time and the number of the socket read that
 * brought it, and tells the calls when the peer refuses or drops them. {@link
 * ProbeConnectionHandler} owns the connection's life (TLS, SETTINGS wait, opening and ending calls).
 *
 * <p>The decoder has already checked the frames and done flow control. Event loop only.
 */
final class CallFrameRouter extends Http2FrameAdapter {
  private final InboundReads reads;
  private final CompletableFuture<Void> ready;
  private final Map<Integer, CallRecord> calls = new HashMap<>();
  private String goAway;

  /**
   * @param ready completed when the server's SETTINGS arrive
   */
  CallFrameRouter(InboundReads reads, CompletableFuture<Void> ready) {
    this.reads = reads;
    this.ready = ready;
  }

  /** Starts recording the frames of {@code call}'s stream. */
  void watch(CallRecord call) {
    calls.put(call.streamId(), call);
  }

  /** Stops recording them. */
  void stopWatching(CallRecord call) {
    calls.remove(call.streamId());
  }

  /** The GOAWAY the server sent, as {@code GOAWAY(CODE, "debug")}, or null. */
  String goAway() {
    return goAway;
  }

  /** The connection is gone: every call still watched ends without an answer. */
  void abandonAll(String why) {
    for (CallRecord call : new ArrayList<>(calls.values())) {
      call.abandon(why);
    }
  }

  @Override
  public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
    ready.complete(null);
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
      boolean endStream) {
    CallRecord call = calls.get(streamId);
    if (call != null) {
      call.headersReceived(headers, endStream, reads.currentNanos(), reads.current());
    }
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
      short weight, boolean exclusive, int padding, boolean endStream) {
    onHeadersRead(ctx, streamId, headers, padding, endStream);
  }

  @Override
  public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
    CallRecord call = calls.get(streamId);
    if (call != null) {
      call.dataReceived(data.readableBytes(), endOfStream, reads.currentNanos(), reads.current());
    }
    return data.readableBytes() + padding; // consumed: give the window back at once
  }

  @Override
  public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
    CallRecord call = calls.get(streamId);
    if (call != null) {
      call.resetReceived(errorCode, reads.currentNanos(), reads.current());
    }
  }

  @Override
  public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int windowSizeIncrement) {
    CallRecord call = calls.get(streamId);
    if (call != null) {
      call.windowUpdateReceived(reads.currentNanos(), reads.current());
    }
  }

  @Override
  public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
    String debug = debugData.toString(StandardCharsets.UTF_8);
    goAway = "GOAWAY(" + Http2Names.errorName(errorCode) + (debug.isEmpty() ? "" : ", \"" + debug + "\"") + ")";
    for (CallRecord call : new ArrayList<>(calls.values())) {
      if (call.streamId() > lastStreamId) {
        call.abandon("the server refused the stream with " + goAway);
      }
    }
  }
}
