package dev.abortguard.internal.netty;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import org.junit.jupiter.api.Test;

/** Which header blocks, as Netty's own HPACK encoder writes them, leave the decoder's table as it was. */
class HpackBlocksTest {
  private final DefaultHttp2HeadersEncoder encoder =
      new DefaultHttp2HeadersEncoder(Http2HeadersEncoder.NEVER_SENSITIVE, false);

  @Test
  void aFieldIsAddedToTheTableOnceThenOnlyReferenced() throws Http2Exception {
    Http2Headers trailers = new DefaultHttp2Headers().add("x-late", "trailer");
    assertFalse(neutral(block(trailers)), "the first block adds x-late");
    assertTrue(neutral(block(trailers)), "the second references it");
    assertFalse(neutral(block(new DefaultHttp2Headers().add("x-late", "trailer").add("x-other", "1"))),
        "one new field in a block is enough");
  }

  @Test
  void sensitiveFieldsAreNeverIndexedAndLeaveTheTable() throws Http2Exception {
    DefaultHttp2HeadersEncoder sensitive = new DefaultHttp2HeadersEncoder((name, value) -> true, false);
    ByteBuf out = Unpooled.buffer();
    sensitive.encodeHeaders(1, new DefaultHttp2Headers().add("authorization", "secret").add("x-new", "v"), out);
    assertTrue(neutral(out));
  }

  @Test
  void aTableSizeUpdateChangesTheTable() throws Http2Exception {
    block(new DefaultHttp2Headers().add("x-late", "trailer"));
    encoder.maxHeaderTableSize(1024);
    assertFalse(neutral(block(new DefaultHttp2Headers().add("x-late", "trailer"))));
  }

  @Test
  void anythingUnreadableCountsAsChangingIt() {
    assertFalse(neutral(Unpooled.wrappedBuffer(new byte[] {(byte) 0x00, 0x05, 'a'})), "a name cut short");
    assertFalse(neutral(Unpooled.wrappedBuffer(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
        (byte) 0xff, (byte) 0xff})), "an index longer than any");
    assertTrue(neutral(Unpooled.wrappedBuffer(new byte[] {(byte) 0x82})), "a static reference (:method GET)");
    assertTrue(neutral(Unpooled.EMPTY_BUFFER), "an empty block");
  }

  @Test
  void paddingAndPriorityFieldsAreSkipped() throws Http2Exception {
    Http2Headers trailers = new DefaultHttp2Headers().add("x-late", "trailer");
    block(trailers);
    ByteBuf block = block(trailers);
    ByteBuf frame = Unpooled.buffer();
    frame.writeMedium(1 + 5 + block.readableBytes() + 3).writeByte(0x1).writeByte(0x4 | 0x8 | 0x20).writeInt(1);
    frame.writeByte(3).writeInt(0).writeByte(15).writeBytes(block).writeZero(3);
    assertTrue(HpackBlocks.leavesTableAsItWas(frame, 9));
    ByteBuf badPadding = Unpooled.buffer();
    badPadding.writeMedium(1).writeByte(0x1).writeByte(0x4 | 0x8).writeInt(1).writeByte(200);
    assertFalse(HpackBlocks.leavesTableAsItWas(badPadding, 9));
  }

  private ByteBuf block(Http2Headers headers) throws Http2Exception {
    ByteBuf out = Unpooled.buffer();
    encoder.encodeHeaders(1, headers, out);
    return out;
  }

  private static boolean neutral(ByteBuf block) {
    return HpackBlocks.tableNeutral(block, block.readerIndex(), block.writerIndex());
  }
}
