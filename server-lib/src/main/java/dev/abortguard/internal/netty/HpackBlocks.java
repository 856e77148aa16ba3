package dev.abortguard.internal.netty;

import static dev.abortguard.internal.Http2Frames.FLAG_PADDED;
import static dev.abortguard.internal.Http2Frames.FLAG_PRIORITY;

import io.netty.buffer.ByteBuf;

/**
 * Reads an HPACK header block (RFC 7541) only as far as telling whether decoding it changes the
 * decoder's dynamic table: a block that only references entries or carries literals not to be
 * indexed can be dropped without the two ends' tables drifting apart. Anything it cannot read to
 * the end counts as changing the table, so that the decoder sees it and answers it as it would.
 */
final class HpackBlocks {
  private HpackBlocks() {}

  /**
   * Whether the header block of the HEADERS frame in {@code frame} (its 9-byte header at the
   * reader index, then {@code frame}'s payload) leaves the table as it was.
   */
  static boolean leavesTableAsItWas(ByteBuf frame, int headerLength) {
    int flags = frame.getByte(frame.readerIndex() + 4) & 0xff;
    int i = frame.readerIndex() + headerLength;
    int end = frame.writerIndex();
    if ((flags & FLAG_PADDED) != 0) {
      if (i >= end) {
        return false;
      }
      end -= frame.getByte(i++) & 0xff;
    }
    if ((flags & FLAG_PRIORITY) != 0) {
      i += 5;
    }
    if (i > end) {
      return false;
    }
    return tableNeutral(frame, i, end);
  }

  /** Whether the representations in {@code block[from, to)} are all read and none changes the table. */
  static boolean tableNeutral(ByteBuf block, int from, int to) {
    int[] at = {from};
    while (at[0] < to) {
      int first = block.getByte(at[0]) & 0xff;
      if ((first & 0x80) != 0) { // indexed field: a reference
        if (readInt(block, at, to, 7) < 0) {
          return false;
        }
      } else if ((first & 0xc0) == 0x40 || (first & 0xe0) == 0x20) {
        return false; // literal with incremental indexing, or a dynamic table size update
      } else { // literal without indexing or never indexed: 4-bit name index, then strings
        long nameIndex = readInt(block, at, to, 4);
        if (nameIndex < 0 || (nameIndex == 0 && !skipString(block, at, to)) || !skipString(block, at, to)) {
          return false;
        }
      }
    }
    return at[0] == to;
  }

  private static boolean skipString(ByteBuf block, int[] at, int to) {
    long length = readInt(block, at, to, 7); // the Huffman bit sits above the 7-bit prefix
    if (length < 0 || length > to - at[0]) {
      return false;
    }
    at[0] += (int) length;
    return true;
  }

  /** An HPACK integer with an {@code prefixBits}-bit prefix at {@code at[0]}, moved past; -1 if unreadable. */
  private static long readInt(ByteBuf block, int[] at, int to, int prefixBits) {
    int max = (1 << prefixBits) - 1;
    long value = block.getByte(at[0]++) & max;
    if (value < max) {
      return value;
    }
    for (int shift = 0; shift <= 28; shift += 7) {
      if (at[0] >= to) {
        return -1;
      }
      int b = block.getByte(at[0]++) & 0xff;
      value += (long) (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return value;
      }
    }
    return -1; // longer than any length or index a header block can hold
  }
}
