package dev.abortguard.benchmarks;

import dev.abortguard.internal.netty.LateFrameFilter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What {@link LateFrameFilter} adds to the inbound path of a server connection in the common case,
 * where nothing is kept back: a Netty {@link Http2FrameCodec} in an embedded channel reads one
 * socket read of {@value #FRAMES} DATA frames on an open stream, stock against with the filter
 * before it, in the same run. The filter parses every frame header of every read on every
 * connection it is installed on, so this is the price all traffic pays for the few late frames it
 * drops; run with {@code -prof gc} and read {@code gc.alloc.rate.norm} for the bytes it allocates
 * per read on top of the codec's.
 *
 * <p>The filter's released set holds another stream (opened and reset as the guard does), so each
 * frame header takes the lookup rather than an empty-set shortcut. The application side releases
 * every frame and returns every DATA's bytes to the stream window, and the codec refills the
 * connection window itself, so the connection runs indefinitely; {@link #check} fails the trial if
 * it did not (closed channel, GOAWAY, stream 1 gone, bytes missing) or if a read buffer leaked.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class LateFrameFilterBenchmark {
  /** {@code false}: the stock codec; {@code true}: the filter installed before it. */
  @Param({"false", "true"})
  public boolean filtered;

  /** The payload of each DATA frame: tiny gRPC messages up to HTTP/2's default maximum frame. */
  @Param({"16", "1024", "16384"})
  public int frameBytes;

  /** DATA frames per read: enough that per-frame costs dominate per-read ones, as on a busy stream. */
  static final int FRAMES = 16;
  private static final int STREAM = 1;
  /** Opened and reset before the run: with the filter, the one stream in its released set. */
  private static final int RESET = 3;

  private EmbeddedChannel channel;
  private Http2FrameCodec codec;
  private final Sink sink = new Sink();
  /** One read's bytes, built once: each operation reads a duplicate, so no copying is measured. */
  private ByteBuf read;
  private long operations;

  @Setup
  public void connect() {
    // A large stream window, so that WINDOW_UPDATEs (which both variants write alike) are rare
    // next to the reads; the connection window cannot be set by SETTINGS, and the codec refills it.
    codec = Http2FrameCodecBuilder.forServer()
        .initialSettings(Http2Settings.defaultSettings().initialWindowSize(1 << 20))
        .build();
    channel = new EmbeddedChannel(codec, sink);
    LateFrameFilter filter = null;
    if (filtered) {
      // Before the client's first bytes, as on a connection the guard attaches to at once: the
      // filter finds the frame boundary in the opening, so every measured read is an aligned one.
      filter = new LateFrameFilter(codec);
      filter.install(channel.pipeline().context(codec));
    }
    DefaultHttp2HeadersEncoder encoder =
        new DefaultHttp2HeadersEncoder(Http2HeadersEncoder.NEVER_SENSITIVE, false);
    Http2Headers request = new DefaultHttp2Headers().method("POST").scheme("http").path("/s/m")
        .authority("x").add("content-type", "application/grpc");
    // Preface, the client's SETTINGS and its ACK of the server's (which applies the stream window),
    // then two requests that stay open.
    ByteBuf opening = channel.alloc().buffer();
    opening.writeBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    writeFrameHeader(opening, 0, 0x4, 0, 0);
    writeFrameHeader(opening, 0, 0x4, 0x1, 0);
    writeHeaders(opening, encoder, STREAM, request);
    writeHeaders(opening, encoder, RESET, request);
    feed(opening);
    // The guard resets stream 3 as its driver does, the filter told first (in both variants the
    // codec resets it, so the codec's state is the same). Marked any earlier, its request would be
    // kept back.
    if (filtered) {
      filter.released(RESET);
    }
    ChannelHandlerContext ctx = channel.pipeline().context(codec);
    codec.encoder().writeRstStream(ctx, RESET, Http2Error.NO_ERROR.code(), ctx.newPromise());
    channel.flush();
    drainOutbound();
    if (filtered) {
      checkFiltering();
    }
    if (codec.connection().stream(RESET) != null || stream() == null || sink.headers != 2) {
      throw new IllegalStateException("the opening did not leave stream 1 open and stream 3 reset: stream 3="
          + codec.connection().stream(RESET) + ", stream 1=" + stream() + ", requests seen=" + sink.headers
          + ", other frames=" + sink.other, sink.failure);
    }
    sink.other = 0; // the SETTINGS and SETTINGS ACK frames of the opening

    read = channel.alloc().directBuffer(FRAMES * (9 + frameBytes));
    byte[] payload = new byte[frameBytes];
    for (int i = 0; i < FRAMES; i++) {
      writeFrameHeader(read, frameBytes, 0x0, 0, STREAM);
      read.writeBytes(payload);
    }
    sink.dataBytes = 0;
  }

  /** One read of {@value #FRAMES} DATA frames, and the WINDOW_UPDATEs it caused drained. */
  @Benchmark
  public int inboundRead() {
    operations++;
    channel.writeInbound(read.retainedDuplicate());
    return drainOutbound();
  }

  @TearDown
  public void check() {
    try {
      channel.checkException();
      Http2Stream stream = stream();
      if (!channel.isActive() || codec.connection().goAwaySent() || codec.connection().goAwayReceived()
          || stream == null || stream.state() != Http2Stream.State.OPEN) {
        throw new IllegalStateException("the connection did not survive: active=" + channel.isActive()
            + ", goAwaySent=" + codec.connection().goAwaySent() + ", stream 1=" + (stream == null ? null : stream.state()));
      }
      if (sink.failure != null) {
        throw new IllegalStateException("the application saw a failure", sink.failure);
      }
      if (sink.other != 0) {
        throw new IllegalStateException(sink.other + " unexpected frames reached the application");
      }
      long expected = operations * FRAMES * frameBytes;
      if (sink.dataBytes != expected) {
        throw new IllegalStateException("DATA bytes delivered: " + sink.dataBytes + ", expected " + expected);
      }
      if (filtered) {
        checkFiltering(); // still aligned after the run: every read was filtered, none passed blind
      }
    } finally {
      channel.finishAndReleaseAll();
      // Every duplicate was released: only the benchmark's own reference is left.
      if (!read.release()) {
        throw new IllegalStateException("a read leaked: refCnt " + read.refCnt() + " after release");
      }
    }
  }

  /**
   * Proof that the filter is aligned and filtering: a late DATA on stream 3 is kept from the codec
   * (which would answer RST_STREAM) and only its byte goes back to the connection window.
   */
  private void checkFiltering() {
    ByteBuf late = channel.alloc().buffer();
    writeFrameHeader(late, 1, 0x0, 0, RESET);
    late.writeByte(0);
    feed(late);
    ByteBuf answer = channel.readOutbound();
    boolean windowUpdate = answer != null && answer.readableBytes() == 13 && answer.getByte(3) == 0x8
        && answer.getInt(5) == 0 && answer.getInt(9) == 1;
    ReferenceCountUtil.release(answer);
    if (!windowUpdate || drainOutbound() != 0) {
      throw new IllegalStateException("the filter did not keep a late DATA back");
    }
  }

  private Http2Stream stream() {
    return codec.connection().stream(STREAM);
  }

  private void feed(ByteBuf bytes) {
    channel.writeInbound(bytes);
    channel.runPendingTasks();
  }

  /** Releases what the server wrote (its SETTINGS, resets, WINDOW_UPDATEs): what a socket would send. */
  private int drainOutbound() {
    int n = 0;
    for (Object out; (out = channel.readOutbound()) != null; n++) {
      ReferenceCountUtil.release(out);
    }
    return n;
  }

  private static void writeHeaders(ByteBuf out, DefaultHttp2HeadersEncoder encoder, int stream, Http2Headers headers) {
    ByteBuf block = Unpooled.buffer();
    try {
      encoder.encodeHeaders(stream, headers, block);
      writeFrameHeader(out, block.readableBytes(), 0x1, 0x4, stream); // END_HEADERS, not END_STREAM
      out.writeBytes(block);
    } catch (Http2Exception e) {
      throw new IllegalStateException(e);
    } finally {
      block.release();
    }
  }

  private static void writeFrameHeader(ByteBuf out, int length, int type, int flags, int stream) {
    out.writeMedium(length).writeByte(type).writeByte(flags).writeInt(stream);
  }

  /**
   * The application: releases every frame and gives each DATA's bytes back to its stream window at
   * once, as a reader keeping up would (gRPC returns them as it parses messages).
   */
  static final class Sink extends ChannelInboundHandlerAdapter {
    long dataBytes;
    int headers;
    int other;
    Throwable failure;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (msg instanceof Http2DataFrame) {
          Http2DataFrame data = (Http2DataFrame) msg;
          dataBytes += data.content().readableBytes();
          // The void promise: a failed window return reaches exceptionCaught, and no promise is
          // allocated per frame in either variant.
          ctx.write(new DefaultHttp2WindowUpdateFrame(data.initialFlowControlledBytes()).stream(data.stream()),
              ctx.voidPromise());
        } else if (msg instanceof Http2HeadersFrame) {
          headers++;
        } else {
          other++; // a reset, GOAWAY or anything else here means the run went wrong
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (failure == null) {
        failure = cause;
      }
    }
  }
}
