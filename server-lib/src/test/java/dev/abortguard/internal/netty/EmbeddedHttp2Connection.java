package dev.abortguard.internal.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.GuardMeters;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.local.LocalServerChannel;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2FrameWriter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * One server HTTP/2 connection on an {@link EmbeddedChannel}: {@code Http2FrameCodec}, the guard's
 * {@code http2FrameCodecHandler()}, {@code Http2MultiplexHandler}. A scripted client encodes its
 * frames with Netty's {@link DefaultHttp2FrameWriter} and writes them inbound, one {@link #send()}
 * being one socket read; what the server writes is decoded with {@link DefaultHttp2FrameReader} at
 * each flush and kept as {@link Frame}s numbered by the flush that wrote them.
 *
 * <p>The server's child channels act like Netty gRPC code: a request carrying {@link #ABORT} is
 * answered trailers-only (END_STREAM) and the child then closes itself; one carrying {@link
 * #RESET_EARLY} closes at once, writing nothing; any other gets {@code :status 200} and, on the
 * client's END_STREAM, {@code grpc-status 0} trailers, and its child closes.
 *
 * <p>Time moves only through {@link #advance}; everything the test does to the server runs as one
 * event-loop task ({@link #asOneTask}), followed by the tasks it submitted.
 */
final class EmbeddedHttp2Connection implements GuardMeters {
  /** The request header that makes the server abort the call trailers-only. */
  static final String ABORT = "x-abort";
  /** The request header that makes the server's child close before it wrote anything. */
  static final String RESET_EARLY = "x-reset-early";

  /** A frame the server wrote; {@code flush} numbers the socket writes that carried frames, from 1. */
  record Frame(int flush, String type, int streamId, long errorCode, boolean endStream, int value, String detail) {
    @Override
    public String toString() {
      return "#" + flush + " " + type + "(stream " + streamId
          + (type.equals("RST_STREAM") || type.equals("GOAWAY") ? ", " + Http2Error.valueOf(errorCode) : "")
          + (endStream ? ", END_STREAM" : "")
          + (value != 0 ? ", " + value : "")
          + (detail.isEmpty() ? "" : ", " + detail) + ")";
    }
  }

  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final Http2FrameCodec codec;
  final EmbeddedChannel channel;

  private final Http2FrameWriter clientWriter = new DefaultHttp2FrameWriter();
  /** Only there to give {@link #clientWriter} a context to write into. */
  private final EmbeddedChannel clientEncoder = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
  private final ChannelHandlerContext clientContext = clientEncoder.pipeline().firstContext();
  private final DefaultHttp2FrameReader serverFrameReader = new DefaultHttp2FrameReader(true);
  /** Server bytes not yet decoded (a frame's header and payload are separate writes). */
  private final ByteBuf serverBytes = Unpooled.buffer();
  private final List<Frame> frames = new ArrayList<>();
  private int framesTaken;
  private int flushes;
  private boolean holdFlushes;

  /**
   * A guarded connection, handshake done (client preface, both SETTINGS acknowledged).
   *
   * @param codecOptions applied to {@code Http2FrameCodecBuilder.forServer()}
   */
  private long loopNanos() {
    return channel.eventLoop().ticker().nanoTime();
  }

  EmbeddedHttp2Connection(ResetPolicy policy, Duration grace, int lingeringMax,
      Consumer<Http2FrameCodecBuilder> codecOptions) {
    AbortGuard guard = AbortGuard.builder()
        .properties(name -> null)
        .reset(policy)
        .resetGrace(grace)
        .lingeringMax(lingeringMax)
        .meterRegistry(registry)
        .build();
    Http2FrameCodecBuilder codecBuilder = Http2FrameCodecBuilder.forServer();
    codecOptions.accept(codecBuilder);
    codec = codecBuilder.build();
    // Http2MultiplexHandler tells a server connection by its parent being a ServerChannel; without
    // one it takes stream 1 for a client's upgrade stream.
    channel = new EmbeddedChannel(new LocalServerChannel(), DefaultChannelId.newInstance(), true, false,
        new WireRecorder(),
        codec,
        // The guard's handler, timed on the embedded loop's clock, which advanceTimeBy moves.
        new EarlyCloseFrameHandler(dev.abortguard.internal.GuardParts.of(guard), () -> loopNanos()),
        new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
          @Override
          protected void initChannel(Http2StreamChannel child) {
            child.pipeline().addLast(new CallHandler());
          }
        }),
        new TaskRunner());
    channel.freezeTime();
    clientContext.write(Http2CodecUtil.connectionPrefaceBuf());
    clientWriter.writeSettings(clientContext, new Http2Settings(), clientContext.newPromise());
    clientWriter.writeSettingsAck(clientContext, clientContext.newPromise());
    send();
    assertEquals("[SETTINGS, SETTINGS_ACK]",
        takeFrames().stream().map(Frame::type).collect(Collectors.toList()).toString(), "server handshake");
  }

  /** A guarded connection with the codec's defaults. */
  EmbeddedHttp2Connection(ResetPolicy policy, Duration grace, int lingeringMax) {
    this(policy, grace, lingeringMax, codec -> { });
  }

  @Override
  public MeterRegistry registry() {
    return registry;
  }

  // --------------------------------------------------------------------------------- the client

  /** Queues request HEADERS on {@code streamId}, with {@code extraHeader} (e.g. {@link #ABORT}) when not null. */
  EmbeddedHttp2Connection request(int streamId, String extraHeader, boolean endStream) {
    Http2Headers headers = new DefaultHttp2Headers()
        .method("POST")
        .scheme("http")
        .path("/test.Service/Bidi")
        .authority("localhost")
        .set("content-type", "application/grpc")
        .set("te", "trailers");
    if (extraHeader != null) {
      headers.set(extraHeader, "1");
    }
    clientWriter.writeHeaders(clientContext, streamId, headers, 0, endStream, clientContext.newPromise());
    return this;
  }

  /** Queues request trailers (HEADERS without pseudo-headers, END_STREAM) on {@code streamId}. */
  EmbeddedHttp2Connection requestTrailers(int streamId) {
    clientWriter.writeHeaders(clientContext, streamId, new DefaultHttp2Headers().set("x-trailer", "1"), 0, true,
        clientContext.newPromise());
    return this;
  }

  /** Queues {@code bytes} zero bytes of DATA on {@code streamId}, in frames of at most 16 KiB. */
  EmbeddedHttp2Connection data(int streamId, int bytes, boolean endStream) {
    clientWriter.writeData(clientContext, streamId, Unpooled.wrappedBuffer(new byte[bytes]), 0, endStream,
        clientContext.newPromise());
    return this;
  }

  /** Queues RST_STREAM({@code error}) on {@code streamId}. */
  EmbeddedHttp2Connection reset(int streamId, Http2Error error) {
    clientWriter.writeRstStream(clientContext, streamId, error.code(), clientContext.newPromise());
    return this;
  }

  /** Writes the queued client frames inbound as one read (channelRead, then channelReadComplete). */
  EmbeddedHttp2Connection send() {
    clientContext.flush();
    List<Object> bytes = new ArrayList<>();
    Object chunk;
    while ((chunk = clientEncoder.readOutbound()) != null) {
      bytes.add(chunk);
    }
    asOneTask(() -> channel.writeInbound(bytes.toArray()));
    return this;
  }

  // --------------------------------------------------------------------------------- the server

  /** Frames the server wrote since the last call. */
  List<Frame> takeFrames() {
    List<Frame> taken = List.copyOf(frames.subList(framesTaken, frames.size()));
    framesTaken = frames.size();
    return taken;
  }

  /** Every frame the server wrote, and the releases counted, for assertion messages. */
  String describeFrames() {
    String released = registry.find("grpc.server.streams.released").counters().stream()
        .filter(c -> c.count() > 0)
        .map(c -> c.getId().getTag("cause") + "=" + (long) c.count())
        .collect(Collectors.joining(", ", "released: ", ""));
    return frames.stream().map(Frame::toString).collect(Collectors.joining("\n  ", "server frames:\n  ", "\n"))
        + released;
  }

  /**
   * While {@code hold} is true, flushes stop just above the channel: writes stay in its outbound
   * buffer, their promises not done, as on a socket the peer does not read.
   */
  void holdFlushes(boolean hold) {
    holdFlushes = hold;
  }

  /**
   * Runs {@code task} as the event loop runs one task, then the tasks it submitted, one after the
   * other, as the event loop would next. (Left to itself an {@code EmbeddedChannel} runs pending
   * tasks whenever a write reaches it outside its own methods: in the middle of a handler writing
   * a frame's header and payload, or inside another task.) What {@code task} throws, and what the
   * pipeline or a task threw, is rethrown here.
   */
  void asOneTask(Runnable task) {
    TaskRunner.Task message = new TaskRunner.Task(() -> {
      task.run();
      channel.runPendingTasks();
    });
    channel.write(message);
    if (message.failure instanceof RuntimeException) {
      throw (RuntimeException) message.failure;
    } else if (message.failure != null) {
      throw (Error) message.failure;
    }
    channel.checkException();
  }

  /** Moves the event loop's clock by {@code time} and runs the scheduled tasks now due, then the tasks they submitted. */
  void advance(Duration time) {
    asOneTask(() -> {
      channel.advanceTimeBy(time.toNanos(), TimeUnit.NANOSECONDS);
      channel.runScheduledPendingTasks();
    });
  }

  /** Closes the channel, releasing everything left in it and this connection's own buffers. */
  void finish() {
    try {
      if (channel.isOpen()) {
        asOneTask(channel::close);
      }
      channel.finishAndReleaseAll();
    } finally {
      clientEncoder.finishAndReleaseAll();
      serverBytes.release();
    }
  }

  /**
   * First in the pipeline: decodes what each flush wrote. A flush made while the channel is
   * writing (a listener of a completed write flushing again) is not one of its own: what it adds
   * is written by the same write loop, after what the outer flush had, and is numbered as the next
   * flush, as on a socket it goes in a later write call.
   */
  private final class WireRecorder extends ChannelOutboundHandlerAdapter {
    private long written;
    private long drained;
    private int depth;

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      written++;
      ctx.write(msg, promise);
    }

    @Override
    public void flush(ChannelHandlerContext ctx) throws Http2Exception {
      if (holdFlushes) {
        return;
      }
      if (depth > 0) {
        ctx.flush();
        return;
      }
      long flushed = written;
      depth++;
      try {
        ctx.flush();
      } finally {
        depth--;
      }
      EmbeddedChannel embedded = (EmbeddedChannel) ctx.channel();
      int flush = flushes + 1;
      ByteBuf chunk;
      while ((chunk = embedded.readOutbound()) != null) {
        int chunkFlush = drained++ < flushed ? flush : flush + 1;
        try {
          serverBytes.writeBytes(chunk);
        } finally {
          chunk.release();
        }
        flushes = chunkFlush;
        serverFrameReader.readFrame(clientContext, serverBytes, new FrameRecorder(chunkFlush));
        serverBytes.discardReadBytes();
      }
    }
  }

  /** Last in the pipeline: runs {@link Task}s written to the channel (see {@link #asOneTask}). */
  private static final class TaskRunner extends ChannelOutboundHandlerAdapter {
    static final class Task {
      final Runnable body;
      Throwable failure;

      Task(Runnable body) {
        this.body = body;
      }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
      if (!(msg instanceof Task)) {
        super.write(ctx, msg, promise);
        return;
      }
      Task task = (Task) msg;
      try {
        task.body.run();
      } catch (RuntimeException | Error e) {
        task.failure = e;
      }
      promise.trySuccess();
    }
  }

  /** Records each decoded server frame as a {@link Frame} of flush {@code flush}. */
  private final class FrameRecorder extends Http2FrameAdapter {
    private final int flush;

    FrameRecorder(int flush) {
      this.flush = flush;
    }

    private void add(String type, int streamId, long errorCode, boolean endStream, int value, String detail) {
      frames.add(new Frame(flush, type, streamId, errorCode, endStream, value, detail));
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
      add("DATA", streamId, 0, endOfStream, data.readableBytes(), "");
      return data.readableBytes() + padding;
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
        boolean endStream) {
      List<String> detail = new ArrayList<>();
      if (headers.status() != null) {
        detail.add(":status " + headers.status());
      }
      if (headers.get("grpc-status") != null) {
        detail.add("grpc-status " + headers.get("grpc-status"));
      }
      add("HEADERS", streamId, 0, endStream, 0, String.join(" ", detail));
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
        short weight, boolean exclusive, int padding, boolean endStream) {
      onHeadersRead(ctx, streamId, headers, padding, endStream);
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
      add("RST_STREAM", streamId, errorCode, false, 0, "");
    }

    @Override
    public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
      add("SETTINGS", 0, 0, false, 0, settings.toString());
    }

    @Override
    public void onSettingsAckRead(ChannelHandlerContext ctx) {
      add("SETTINGS_ACK", 0, 0, false, 0, "");
    }

    @Override
    public void onPingRead(ChannelHandlerContext ctx, long data) {
      add("PING", 0, 0, false, 0, "");
    }

    @Override
    public void onPingAckRead(ChannelHandlerContext ctx, long data) {
      add("PING_ACK", 0, 0, false, 0, "");
    }

    @Override
    public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
      add("GOAWAY", 0, errorCode, false, lastStreamId, debugData.toString(StandardCharsets.UTF_8));
    }

    @Override
    public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int windowSizeIncrement) {
      add("WINDOW_UPDATE", streamId, 0, false, windowSizeIncrement, "");
    }
  }

  /** One call on its child stream channel (see the class comment). */
  private static final class CallHandler extends ChannelInboundHandlerAdapter {
    private boolean requestSeen;
    private boolean closing;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (msg instanceof Http2HeadersFrame) {
          onHeaders(ctx, (Http2HeadersFrame) msg);
        } else if (msg instanceof Http2DataFrame && ((Http2DataFrame) msg).isEndStream() && !closing) {
          finish(ctx);
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    private void onHeaders(ChannelHandlerContext ctx, Http2HeadersFrame frame) {
      if (requestSeen) {
        if (frame.isEndStream() && !closing) {
          finish(ctx); // request trailers
        }
        return;
      }
      requestSeen = true;
      if (frame.headers().contains(RESET_EARLY)) {
        closing = true;
        ctx.close();
        return;
      }
      if (frame.headers().contains(ABORT)) {
        closing = true;
        Http2Headers trailers = new DefaultHttp2Headers()
            .status("200")
            .set("content-type", "application/grpc")
            .set("grpc-status", "7")
            .set("grpc-message", "denied");
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(trailers, true)).addListener(ChannelFutureListener.CLOSE);
        return;
      }
      ctx.write(new DefaultHttp2HeadersFrame(
          new DefaultHttp2Headers().status("200").set("content-type", "application/grpc"), false));
      if (frame.isEndStream()) {
        finish(ctx);
      } else {
        ctx.flush();
      }
    }

    private void finish(ChannelHandlerContext ctx) {
      closing = true;
      ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().set("grpc-status", "0"), true))
          .addListener(ChannelFutureListener.CLOSE);
    }
  }
}
