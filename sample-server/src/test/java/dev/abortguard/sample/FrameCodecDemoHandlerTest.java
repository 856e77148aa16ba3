package dev.abortguard.sample;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link FrameCodecDemoHandler} on its own, fed stream frames the way {@code Http2MultiplexHandler}
 * hands them to a child channel: message framing across and within DATA frames, the trailers it
 * writes, and that every buffer it was given is released.
 */
class FrameCodecDemoHandlerTest {
  private static final String BIDI = "/abortguard.demo.v1.DemoService/Bidi";

  private final EmbeddedChannel channel = new EmbeddedChannel(new FrameCodecDemoHandler());
  /** Every buffer handed to the handler, to check that it released them all. */
  private final List<ByteBuf> given = new ArrayList<>();

  @AfterEach
  void releaseEverything() {
    channel.finishAndReleaseAll();
    for (ByteBuf buffer : given) {
      assertEquals(0, buffer.refCnt(), "a DATA frame's buffer was not released");
    }
  }

  @Test
  void echoesMessagesThatShareOrSpanDataFrames() {
    channel.writeInbound(request(BIDI));
    byte[] first = message("first");
    byte[] second = message("");
    byte[] third = message("third, split inside its prefix and its body");
    // first and second share a frame; third starts in it, 2 bytes into its prefix.
    channel.writeInbound(data(concat(first, second, slice(third, 0, 2)), false));
    Http2HeadersFrame headers = channel.readOutbound();
    assertEquals("200", headers.headers().status().toString());
    assertEquals("application/grpc", headers.headers().get("content-type").toString());
    assertFalse(headers.isEndStream());
    assertEchoed(first);
    assertEchoed(second);
    assertNull(channel.readOutbound());

    channel.writeInbound(data(slice(third, 2, 10), false));
    assertNull(channel.readOutbound());
    channel.writeInbound(data(slice(third, 10, third.length), false));
    assertEchoed(third);

    channel.writeInbound(data(new byte[0], true));
    Http2HeadersFrame trailers = channel.readOutbound();
    assertTrue(trailers.isEndStream());
    assertEquals("0", trailers.headers().get("grpc-status").toString());
    assertNull(trailers.headers().status(), "trailers after headers carry no :status");
    assertFalse(channel.isOpen(), "the stream's channel closes after its trailers");
  }

  @Test
  void abortIsTrailersOnlyAndClosesTheStream() {
    channel.writeInbound(request(BIDI, "x-demo-abort", "Permission_Denied"));
    Http2HeadersFrame trailers = channel.readOutbound();
    assertTrue(trailers.isEndStream());
    Http2Headers fields = trailers.headers();
    assertEquals("200", fields.status().toString());
    assertEquals("application/grpc", fields.get("content-type").toString());
    assertEquals("7", fields.get("grpc-status").toString());
    assertEquals("aborted by demo server", fields.get("grpc-message").toString());
    assertFalse(channel.isOpen());
  }

  @Test
  void headersFirstAbortSendsHeadersThenTrailers() {
    channel.writeInbound(request(BIDI, "x-demo-abort", "UNAVAILABLE", "x-demo-headers-first", "true"));
    Http2HeadersFrame headers = channel.readOutbound();
    assertFalse(headers.isEndStream());
    Http2HeadersFrame trailers = channel.readOutbound();
    assertTrue(trailers.isEndStream());
    assertEquals("14", trailers.headers().get("grpc-status").toString());
  }

  @Test
  void unknownAbortCodeIsInvalidArgumentNamingIt() {
    channel.writeInbound(request(BIDI, "x-demo-abort", "50% off"));
    Http2HeadersFrame trailers = channel.readOutbound();
    assertEquals("3", trailers.headers().get("grpc-status").toString());
    assertEquals("x-demo-abort: '50%25 off' is not a status code name such as PERMISSION_DENIED",
        trailers.headers().get("grpc-message").toString());
  }

  @Test
  void otherMethodsAreUnimplemented() {
    channel.writeInbound(request("/abortguard.demo.v1.DemoService/ServerStream"));
    Http2HeadersFrame trailers = channel.readOutbound();
    assertTrue(trailers.isEndStream());
    assertEquals("12", trailers.headers().get("grpc-status").toString());
  }

  @Test
  void endOfStreamInsideAMessageIsInternal() {
    channel.writeInbound(request(BIDI));
    byte[] whole = message("cut short");
    channel.writeInbound(data(slice(whole, 0, whole.length - 1), true));
    Http2HeadersFrame trailers = channel.readOutbound();
    assertTrue(trailers.isEndStream());
    assertEquals("13", trailers.headers().get("grpc-status").toString());
    assertEquals("200", trailers.headers().status().toString(), "nothing was echoed: trailers-only");
  }

  @Test
  void compressedMessageIsInternal() {
    channel.writeInbound(request(BIDI));
    byte[] compressed = message("z");
    compressed[0] = 1;
    channel.writeInbound(data(compressed, false));
    Http2HeadersFrame trailers = channel.readOutbound();
    assertEquals("13", trailers.headers().get("grpc-status").toString());
  }

  @Test
  void oversizedMessageIsRefusedBeforeItArrives() {
    channel.writeInbound(request(BIDI));
    byte[] prefix = {0, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff};
    channel.writeInbound(data(prefix, false));
    Http2HeadersFrame trailers = channel.readOutbound();
    assertEquals(String.valueOf(Status.Code.RESOURCE_EXHAUSTED.value()), trailers.headers().get("grpc-status").toString());
  }

  @Test
  void grpcMessageIsPercentEncodedOutsidePrintableAscii() {
    assertEquals("aborted by demo server", GrpcWire.percentEncode("aborted by demo server"));
    assertEquals("100%25 ~!", GrpcWire.percentEncode("100% ~!"));
    assertEquals("%C3%BC%0A%09%7F%00", GrpcWire.percentEncode("ü\n\t\u007f\u0000"));
    assertEquals("%F0%9F%98%80", GrpcWire.percentEncode("\uD83D\uDE00"));
  }

  private void assertEchoed(byte[] message) {
    Object frame = channel.readOutbound();
    assertInstanceOf(Http2DataFrame.class, frame);
    Http2DataFrame data = (Http2DataFrame) frame;
    try {
      assertFalse(data.isEndStream());
      assertEquals(ByteBufUtil.hexDump(message), ByteBufUtil.hexDump(data.content()));
    } finally {
      data.release();
    }
  }

  private static Http2HeadersFrame request(String path, String... extra) {
    Http2Headers headers = new DefaultHttp2Headers()
        .method("POST").scheme("http").path(path).authority("localhost")
        .set("content-type", "application/grpc").set("te", "trailers");
    for (int i = 0; i < extra.length; i += 2) {
      headers.set(extra[i], extra[i + 1]);
    }
    return new DefaultHttp2HeadersFrame(headers);
  }

  private Http2DataFrame data(byte[] bytes, boolean endStream) {
    // Not copiedBuffer: for no bytes it returns the shared empty buffer, which has no real refCnt.
    ByteBuf buffer = Unpooled.buffer(bytes.length).writeBytes(bytes);
    given.add(buffer);
    return new DefaultHttp2DataFrame(buffer, endStream);
  }

  /** A gRPC message: the 5-byte prefix and a DemoRequest with field 1 (text). */
  private static byte[] message(String text) {
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    byte[] body = utf8.length == 0 ? new byte[0] : concat(new byte[] {0x0a, (byte) utf8.length}, utf8);
    ByteBuf framed = Unpooled.buffer().writeByte(0).writeInt(body.length).writeBytes(body);
    return ByteBufUtil.getBytes(framed);
  }

  private static byte[] slice(byte[] bytes, int from, int to) {
    return java.util.Arrays.copyOfRange(bytes, from, to);
  }

  private static byte[] concat(byte[]... parts) {
    ByteBuf all = Unpooled.buffer();
    for (byte[] part : parts) {
      all.writeBytes(part);
    }
    return ByteBufUtil.getBytes(all);
  }
}
