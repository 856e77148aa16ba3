package dev.abortguard.internal.netty;

import static dev.abortguard.internal.Http2Frames.DATA;
import static dev.abortguard.internal.Http2Frames.FLAG_END_HEADERS;
import static dev.abortguard.internal.Http2Frames.FLAG_END_STREAM;
import static dev.abortguard.internal.Http2Frames.HEADERS;
import static dev.abortguard.internal.Http2Frames.HEADER_LENGTH;
import static dev.abortguard.internal.Http2Frames.RST_STREAM;
import static dev.abortguard.internal.Http2Frames.WINDOW_UPDATE;

import dev.abortguard.internal.Http2Frames;
import dev.abortguard.internal.Internal;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps the peer's late frames on streams the guard has reset from Netty's decoder, which would
 * answer each with RST_STREAM(STREAM_CLOSED): a handler built with Netty's builder (Vert.x's, a
 * server's own {@code Http2FrameCodec}) counts those answers against its MadeYouReset limit (200
 * per 30 s by default) and ends the connection with GOAWAY(ENHANCE_YOUR_CALM) past it. RFC 9113
 * §5.4.2 has the server ignore them: a client still sending when the reset left keeps sending for
 * a round trip.
 *
 * <p>Sits directly before the stack's {@link Http2ConnectionHandler} (after TLS) and reads the
 * HTTP/2 frame headers in the byte stream. DATA on a stream the guard reset is dropped and its
 * bytes go back to the connection window at once (Netty never counted them). Request trailers
 * there are dropped only when their header block leaves the HPACK table as it was ({@link
 * HpackBlocks}); one that adds to it must reach the decoder, which then answers it. Every other
 * frame passes unchanged, and nothing is copied unless a frame is held or dropped across reads.
 *
 * <p>The guard attaches to a connection while it runs (Vert.x: at its first request), when the
 * decoder may hold part of a frame: until a frame ends, the filter hands the bytes on one at a
 * time and takes the first byte after which the decoder reports a frame, or writes (it answers
 * frames it keeps from its listener), as the boundary. If none shows within {@value
 * #MAX_UNALIGNED_BYTES} bytes (frames far larger than HTTP/2's default, or frames the decoder
 * ignores without a word, which cost it no answer either), the connection passes unfiltered.
 */
@Internal
public final class LateFrameFilter extends ChannelInboundHandlerAdapter {
  /** The name of the filter in the pipeline. */
  public static final String NAME = "abortguard-late-frames";
  private static final String WRITE_WATCH = "abortguard-late-frames-write-watch";
  static final int MAX_UNALIGNED_BYTES = 64 * 1024;
  /** Streams reset by the guard whose late frames are kept back: the newest few are in flight. */
  static final int REMEMBERED = 128;


  private enum Payload { PASS, DROP, HOLD }

  private final RecentStreams released = new RecentStreams(REMEMBERED);
  /** The largest frame the decoder takes: a larger one is the decoder's to refuse, not ours to drop. */
  private final int maxFrameSize;
  private final Http2ConnectionHandler handler;
  private boolean aligned;
  private boolean unfiltered;
  private int unalignedBytes;
  /**
   * Set whenever a frame ends, read while unaligned: by the decoder's listener, and by the handler's
   * writes, which come only of a frame it has read (a frame the decoder keeps from its listener, DATA
   * on a closed stream, is answered with a write).
   */
  private boolean frameEnded;

  private final byte[] header = new byte[HEADER_LENGTH];
  private int headerFill;
  private int payloadLeft;
  private Payload payload = Payload.PASS;
  /** A trailers frame being read whole, to decide whether it can be dropped. */
  private ByteBuf held;
  private int windowToReturn;
  private boolean wroteWindowUpdate;
  /** What a read hands on when it keeps something back: int[] {from, to} ranges of it, or buffers of our own. */
  private final List<Object> out = new ArrayList<>(4);

  /** A filter for the connection of {@code handler}, to {@link #install} before it. */
  public LateFrameFilter(Http2ConnectionHandler handler) {
    this.handler = handler;
    Integer advertised = handler.decoder().localSettings().maxFrameSize();
    this.maxFrameSize = advertised != null ? advertised : Http2CodecUtil.DEFAULT_MAX_FRAME_SIZE;
  }

  /**
   * Puts the filter directly before the handler, whose context is {@code handlerContext}, and
   * listens on its decoder for frame ends, decorating the listener the decoder has now. On the
   * event loop.
   */
  public void install(ChannelHandlerContext handlerContext) {
    handler.decoder().frameListener(new FrameEnds(handler.decoder().frameListener(), () -> frameEnded = true));
    handlerContext.pipeline().addBefore(handlerContext.name(), NAME, this);
    handlerContext.pipeline().addBefore(handlerContext.name(), WRITE_WATCH, new WriteWatch());
  }

  /** The guard is resetting {@code streamId}: the peer's frames in flight on it are kept back from now. */
  public void released(int streamId) {
    released.add(streamId);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (unfiltered || !(msg instanceof ByteBuf)) {
      ctx.fireChannelRead(msg);
      return;
    }
    ByteBuf in = (ByteBuf) msg;
    try {
      while (!aligned && in.isReadable()) {
        if (unalignedBytes >= MAX_UNALIGNED_BYTES) {
          unfiltered = true;
          removeWriteWatch(ctx);
          ctx.fireChannelRead(in.retain());
          return;
        }
        frameEnded = false;
        unalignedBytes++;
        ctx.fireChannelRead(in.readRetainedSlice(1));
        aligned = frameEnded;
        if (aligned) {
          removeWriteWatch(ctx);
        }
      }
      if (in.isReadable()) {
        filter(ctx, in);
      }
    } finally {
      in.release();
    }
  }

  /** Once aligned (or given up), writes say nothing more: the watch leaves the outbound path. */
  private static void removeWriteWatch(ChannelHandlerContext ctx) {
    if (ctx.pipeline().get(WRITE_WATCH) != null) {
      ctx.pipeline().remove(WRITE_WATCH);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    ctx.fireChannelReadComplete();
    if (wroteWindowUpdate) {
      wroteWindowUpdate = false;
      ctx.flush();
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    releaseHeld();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    releaseHeld();
    ctx.fireChannelInactive();
  }

  /** Reads the frames of {@code in}, an aligned read, and hands on what is not kept back. */
  private void filter(ChannelHandlerContext ctx, ByteBuf in) {
    int start = in.readerIndex();
    int end = in.writerIndex();
    int keepFrom = payload == Payload.PASS ? start : -1;
    int headerBegin = headerFill == 0 ? -1 : start; // where this read's part of the header begins
    int i = start;
    while (i < end) {
      if (headerFill == 0 && end - i >= HEADER_LENGTH && passes(in, i)) {
        // The usual frame: its header whole in this read, nothing to keep back. Skipped without a copy.
        int length = in.getUnsignedMedium(i);
        int n = Math.min(length, end - i - HEADER_LENGTH);
        i += HEADER_LENGTH + n;
        if (n < length) {
          headerFill = HEADER_LENGTH;
          payloadLeft = length - n;
        }
        continue;
      }
      if (headerFill < HEADER_LENGTH) {
        if (headerFill == 0) {
          headerBegin = i;
        }
        int n = Math.min(HEADER_LENGTH - headerFill, end - i);
        int carried = headerFill; // header bytes of earlier reads: held here, not yet handed on
        in.getBytes(i, header, headerFill, n);
        headerFill += n;
        i += n;
        if (headerFill < HEADER_LENGTH) {
          keep(keepFrom, headerBegin); // the partial header waits for the next read
          keepFrom = -1;
          break;
        }
        headerComplete(ctx, in, keepFrom, headerBegin, carried);
        keepFrom = payload == Payload.PASS ? (carried > 0 || keepFrom < 0 ? headerBegin : keepFrom) : -1;
        if (payloadLeft == 0) {
          keepFrom = frameComplete(keepFrom, i);
        }
      } else {
        int n = Math.min(payloadLeft, end - i);
        if (payload == Payload.HOLD) {
          held.writeBytes(in, i, n);
        }
        i += n;
        payloadLeft -= n;
        if (payloadLeft == 0) {
          keepFrom = frameComplete(keepFrom, i);
        }
      }
    }
    returnWindow(ctx);
    if (out.isEmpty() && keepFrom == start) {
      ctx.fireChannelRead(in.retain()); // the usual read: nothing kept back, handed on as it came
      return;
    }
    keep(keepFrom, end);
    handOn(ctx, in);
  }

  /** Whether the frame whose whole header is at {@code i} passes on (the common case, decided early). */
  private boolean passes(ByteBuf in, int i) {
    if (released.isEmpty()) {
      return true;
    }
    int type = in.getUnsignedByte(i + 3);
    return type != DATA && type != HEADERS && type != RST_STREAM || in.getUnsignedMedium(i) > maxFrameSize
        || !released.contains(in.getInt(i + 5) & 0x7fffffff);
  }

  /**
   * The frame header in {@link #header} is complete: decides what becomes of the frame, handing on
   * what was kept before it if the frame is kept back.
   */
  private void headerComplete(ChannelHandlerContext ctx, ByteBuf in, int keepFrom,
      int headerBegin, int carried) {
    int length = Http2Frames.length(header);
    int type = Http2Frames.type(header);
    int flags = Http2Frames.flags(header);
    int streamId = Http2Frames.streamId(header);
    payloadLeft = length;
    payload = Payload.PASS;
    if ((type == DATA || type == HEADERS || type == RST_STREAM) && streamId != 0 && length <= maxFrameSize
        && !released.isEmpty() && released.contains(streamId)) {
      if (type == DATA) {
        payload = Payload.DROP;
        windowToReturn += length;
        if ((flags & FLAG_END_STREAM) != 0) {
          released.remove(streamId); // the peer is done with it
        }
      } else if (type == HEADERS && (flags & FLAG_END_HEADERS) != 0) {
        payload = Payload.HOLD;
        held = ctx.alloc().buffer(HEADER_LENGTH + length);
        held.writeBytes(header);
      } else if (type == RST_STREAM) {
        released.remove(streamId);
      }
    }
    if (payload == Payload.PASS) {
      if (carried > 0) {
        // The header began in an earlier read: its first bytes go on ahead of this read's.
        keep(keepFrom, headerBegin);
        out.add(in.alloc().buffer(carried).writeBytes(header, 0, carried));
      }
    } else {
      keep(keepFrom, carried > 0 ? -1 : headerBegin);
    }
  }

  /** A frame's payload is complete at {@code i}: where the kept range goes on from. */
  private int frameComplete(int keepFrom, int i) {
    headerFill = 0;
    Payload done = payload;
    payload = Payload.PASS;
    if (done == Payload.PASS) {
      return keepFrom;
    }
    if (done == Payload.HOLD) {
      ByteBuf frame = held;
      held = null;
      if (HpackBlocks.leavesTableAsItWas(frame, HEADER_LENGTH)) {
        if ((Http2Frames.flags(header) & FLAG_END_STREAM) != 0) { // the held frame's header is still there
          released.remove(Http2Frames.streamId(header)); // the peer is done with it
        }
        frame.release();
      } else {
        out.add(frame);
      }
    }
    return i;
  }

  private void keep(int from, int to) {
    if (from >= 0 && to > from) {
      out.add(new int[] {from, to});
    }
  }

  /** Hands on the parts of {@code in} kept, and frames of our own, in their order. */
  private void handOn(ChannelHandlerContext ctx, ByteBuf in) {
    in.readerIndex(in.writerIndex());
    for (Object part : out) {
      if (part instanceof int[]) {
        int[] range = (int[]) part;
        ctx.fireChannelRead(in.retainedSlice(range[0], range[1] - range[0]));
      } else {
        ctx.fireChannelRead(part);
      }
    }
    out.clear();
  }

  /** Gives the connection window back what the kept-back DATA took from it. */
  private void returnWindow(ChannelHandlerContext ctx) {
    if (windowToReturn == 0) {
      return;
    }
    ByteBuf update = ctx.alloc().buffer(HEADER_LENGTH + 4);
    update.writeMedium(4).writeByte(WINDOW_UPDATE).writeByte(0).writeInt(0).writeInt(windowToReturn);
    windowToReturn = 0;
    ctx.write(update);
    wroteWindowUpdate = true;
  }

  private void releaseHeld() {
    if (held != null) {
      held.release();
      held = null;
    }
  }

  /** Sees the handler's writes while the filter is unaligned: each comes of a frame the handler read. */
  private final class WriteWatch extends ChannelOutboundHandlerAdapter {
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      frameEnded = true;
      ctx.write(msg, promise);
    }
  }
}
