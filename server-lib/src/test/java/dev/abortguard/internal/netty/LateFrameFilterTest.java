package dev.abortguard.internal.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.LeakDetectionExtension;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Frame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The filter on a real Netty {@link Http2FrameCodec} in an embedded channel, fed the client's bytes
 * split at every kind of place: DATA and droppable trailers on a stream the guard reset never reach
 * the decoder (no RST_STREAM(STREAM_CLOSED) comes back), the connection window gets their bytes
 * back, and every other frame reaches the codec intact. Under the paranoid leak detector.
 */
@ExtendWith(LeakDetectionExtension.class)
class LateFrameFilterTest {
  private static final int RELEASED = 1;
  private static final int OPEN = 3;

  @Test
  void lateFramesSplitAnywhereAreKeptBackAndTheRestPassesIntact() {
    for (long seed = 0; seed < 300; seed++) {
      Connection connection = new Connection(true);
      connection.feed(connection.opening(), new Random(seed));
      connection.releaseTheGuardsStream();
      Late late = connection.lateFrames();
      connection.feed(late.bytes, new Random(seed));
      connection.assertKeptBack(late, "seed " + seed);
    }
  }

  @Test
  void attachedInTheMiddleOfAFrameItFindsTheBoundaryAndLosesNothing() {
    for (int cut = 1; cut < 60; cut++) {
      Connection connection = new Connection(false);
      byte[] opening = connection.opening();
      // The guard attaches with part of a frame (here: the open stream's first DATA) in the decoder.
      byte[] first = concat(opening, connection.data(OPEN, "before".getBytes(StandardCharsets.UTF_8), 0));
      int at = opening.length + Math.min(cut, 14);
      connection.feedWhole(java.util.Arrays.copyOfRange(first, 0, at));
      connection.attach();
      connection.feedWhole(java.util.Arrays.copyOfRange(first, at, first.length));
      connection.releaseTheGuardsStream();
      Late late = connection.lateFrames();
      connection.feed(late.bytes, new Random(cut));
      connection.assertKeptBack(late, "cut " + cut);
      assertEquals("before", connection.dataOn(OPEN).substring(0, 6), "cut " + cut);
    }
  }

  @Test
  void trailersThatAddToTheHpackTableReachTheDecoder() {
    Connection connection = new Connection(true);
    connection.feed(connection.opening(), new Random(1));
    connection.releaseTheGuardsStream();
    Http2Headers fresh = new DefaultHttp2Headers().add("x-new", "only here");
    connection.feed(connection.headers(RELEASED, fresh, true), new Random(1));
    // The decoder saw the block (its table stays in step with the client's) and answered it.
    assertEquals(List.of(Http2Error.STREAM_CLOSED.code()), connection.resetsFromServer(RELEASED));
    // And the client's next block, which references the new entry, still decodes.
    connection.feed(connection.headers(OPEN, fresh, true), new Random(1));
    assertTrue(connection.sawHeaders(OPEN, "x-new", "only here"), connection.inbound.toString());
    connection.close();
  }

  /** One connection: a client's frame writer and HPACK encoder, the server's codec and the filter. */
  private static final class Connection {
    final EmbeddedChannel channel;
    final Http2FrameCodec codec;
    final List<Object> inbound = new ArrayList<>();
    final DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder(Http2HeadersEncoder.NEVER_SENSITIVE, false);
    LateFrameFilter filter;
    long windowReturned;
    int inboundAtRelease;
    final List<long[]> resets = new ArrayList<>();

    Connection(boolean attachFirst) {
      codec = Http2FrameCodecBuilder.forServer().build();
      channel = new EmbeddedChannel(codec, new ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
          inbound.add(copy(msg));
          ReferenceCountUtil.release(msg);
        }
      });
      if (attachFirst) {
        attach();
      }
    }

    void attach() {
      filter = new LateFrameFilter(codec);
      filter.install(channel.pipeline().context(codec));
    }

    /** The preface, SETTINGS, and request HEADERS on the released and the open stream. */
    byte[] opening() {
      Http2Headers request = new DefaultHttp2Headers().method("POST").scheme("http").path("/s/m")
          .authority("x").add("content-type", "application/grpc").add("x-late", "trailer");
      return concat("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII), frame(0x4, 0, 0, new byte[0]),
          headers(RELEASED, request, false), headers(OPEN, request, false));
    }

    /** The guard resets the released stream as the driver does: the filter is told, the codec writes. */
    void releaseTheGuardsStream() {
      filter.released(RELEASED);
      ChannelHandlerContext ctx = channel.pipeline().context(codec);
      codec.encoder().writeRstStream(ctx, RELEASED, Http2Error.NO_ERROR.code(), ctx.newPromise());
      channel.flush();
      drainOutbound();
      assertTrue(codec.connection().stream(RELEASED) == null, "the codec closed the reset stream");
      resets.clear();
      windowReturned = 0;
      inboundAtRelease = inbound.size();
    }

    /** Late DATA (plain, padded, empty with END_STREAM) and droppable trailers, mixed with live frames. */
    Late lateFrames() {
      Late late = new Late();
      Http2Headers trailers = new DefaultHttp2Headers().add("x-late", "trailer"); // indexed by the request
      byte[][] parts = {
          data(RELEASED, new byte[300], 0),
          data(OPEN, "hello".getBytes(StandardCharsets.UTF_8), 0),
          data(RELEASED, new byte[1000], 17),
          frame(0x6, 0, 0, new byte[8]), // PING
          headers(RELEASED, trailers, false),
          data(OPEN, " world".getBytes(StandardCharsets.UTF_8), 3),
          data(RELEASED, new byte[0], 0),
      };
      late.droppedWindow = 300 + (1 + 1000 + 17) + 0; // DATA payloads, padding included
      late.bytes = concat(parts);
      return late;
    }

    void assertKeptBack(Late late, String context) {
      drainOutbound();
      assertEquals(List.of(), resets.stream().map(r -> r[0] + ":" + r[1]).collect(java.util.stream.Collectors.toList()),
          "no resets answer late frames, " + context);
      assertEquals(late.droppedWindow, windowReturned, "connection window returned, " + context);
      assertEquals("hello world", dataOn(OPEN).substring(dataOn(OPEN).length() - 11), context);
      assertTrue(inbound.stream().anyMatch(m -> m instanceof String && ((String) m).startsWith("PING")), context);
      assertFalse(inbound.subList(inboundAtRelease, inbound.size()).stream()
          .anyMatch(m -> m.toString().contains("stream=" + RELEASED + " ")), "nothing on the released stream, " + context);
      close();
    }

    String dataOn(int stream) {
      StringBuilder text = new StringBuilder();
      for (Object m : inbound) {
        if (m instanceof String && ((String) m).startsWith("DATA stream=" + stream + " ")) {
          text.append(((String) m).substring(((String) m).indexOf(':') + 1));
        }
      }
      return text.toString();
    }

    boolean sawHeaders(int stream, String name, String value) {
      return inbound.stream().anyMatch(m -> m.toString().startsWith("HEADERS stream=" + stream + " ")
          && m.toString().contains(name + "=" + value));
    }

    List<Long> resetsFromServer(int stream) {
      drainOutbound();
      List<Long> codes = new ArrayList<>();
      for (long[] r : resets) {
        if (r[0] == stream) {
          codes.add(r[1]);
        }
      }
      return codes;
    }

    /** Feeds {@code bytes} in random pieces of 1 to 40 bytes, one read each. */
    void feed(byte[] bytes, Random random) {
      int i = 0;
      while (i < bytes.length) {
        int n = Math.min(bytes.length - i, 1 + random.nextInt(40));
        feedWhole(java.util.Arrays.copyOfRange(bytes, i, i + n));
        i += n;
      }
    }

    void feedWhole(byte[] bytes) {
      channel.writeInbound(channel.alloc().buffer(bytes.length).writeBytes(bytes));
      channel.runPendingTasks();
      channel.flush();
    }

    /** Reads what the server wrote: the resets and connection WINDOW_UPDATEs among it. */
    void drainOutbound() {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      for (Object out; (out = channel.readOutbound()) != null; ) {
        ByteBuf buf = (ByteBuf) out;
        bytes.writeBytes(ByteBufUtil.getBytes(buf));
        buf.release();
      }
      byte[] b = pending.size() > 0 ? concat(pending.toByteArray(), bytes.toByteArray()) : bytes.toByteArray();
      pending.reset();
      int i = 0;
      while (i + 9 <= b.length) {
        int length = ((b[i] & 0xff) << 16) | ((b[i + 1] & 0xff) << 8) | (b[i + 2] & 0xff);
        if (i + 9 + length > b.length) {
          break;
        }
        int type = b[i + 3];
        int stream = readInt(b, i + 5) & 0x7fffffff;
        if (type == 0x3) {
          resets.add(new long[] {stream, readInt(b, i + 9) & 0xffffffffL});
        } else if (type == 0x8 && stream == 0) {
          windowReturned += readInt(b, i + 9);
        }
        i += 9 + length;
      }
      pending.writeBytes(java.util.Arrays.copyOfRange(b, i, b.length));
    }

    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    void close() {
      channel.finishAndReleaseAll();
    }

    byte[] headers(int stream, Http2Headers headers, boolean endStream) {
      ByteBuf block = Unpooled.buffer();
      try {
        encoder.encodeHeaders(stream, headers, block);
        return frame(0x1, 0x4 | (endStream ? 0x1 : 0), stream, ByteBufUtil.getBytes(block));
      } catch (io.netty.handler.codec.http2.Http2Exception e) {
        throw new AssertionError(e);
      } finally {
        block.release();
      }
    }

    /** A DATA frame, with {@code padding} bytes of padding (plus the pad length byte) if positive. */
    byte[] data(int stream, byte[] data, int padding) {
      if (padding == 0) {
        return frame(0x0, 0, stream, data);
      }
      byte[] payload = new byte[1 + data.length + padding];
      payload[0] = (byte) padding;
      System.arraycopy(data, 0, payload, 1, data.length);
      return frame(0x0, 0x8, stream, payload);
    }
  }

  private static final class Late {
    byte[] bytes;
    long droppedWindow;
  }

  /** A readable copy of what the codec handed on (its frames release their content). */
  private static Object copy(Object msg) {
    if (msg instanceof Http2DataFrame) {
      Http2DataFrame data = (Http2DataFrame) msg;
      return "DATA stream=" + data.stream().id() + " :" + data.content().toString(StandardCharsets.UTF_8);
    }
    if (msg instanceof Http2HeadersFrame) {
      Http2HeadersFrame headers = (Http2HeadersFrame) msg;
      StringBuilder text = new StringBuilder("HEADERS stream=" + headers.stream().id() + " ");
      headers.headers().forEach(e -> text.append(e.getKey()).append('=').append(e.getValue()).append(' '));
      return text.toString();
    }
    if (msg instanceof Http2PingFrame) {
      return "PING";
    }
    if (msg instanceof Http2Frame) {
      Http2Frame frame = (Http2Frame) msg;
      return frame.name() + (msg instanceof io.netty.handler.codec.http2.Http2StreamFrame
          && ((io.netty.handler.codec.http2.Http2StreamFrame) msg).stream() != null
          ? " stream=" + ((io.netty.handler.codec.http2.Http2StreamFrame) msg).stream().id() + " " : "");
    }
    return String.valueOf(msg);
  }

  static byte[] frame(int type, int flags, int stream, byte[] payload) {
    byte[] frame = new byte[9 + payload.length];
    frame[0] = (byte) (payload.length >>> 16);
    frame[1] = (byte) (payload.length >>> 8);
    frame[2] = (byte) payload.length;
    frame[3] = (byte) type;
    frame[4] = (byte) flags;
    frame[5] = (byte) (stream >>> 24);
    frame[6] = (byte) (stream >>> 16);
    frame[7] = (byte) (stream >>> 8);
    frame[8] = (byte) stream;
    System.arraycopy(payload, 0, frame, 9, payload.length);
    return frame;
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      out.writeBytes(part);
    }
    return out.toByteArray();
  }

  private static int readInt(byte[] b, int at) {
    return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
  }
}
