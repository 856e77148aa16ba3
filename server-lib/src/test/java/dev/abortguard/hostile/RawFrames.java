package dev.abortguard.hostile;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.abortguard.testing.RawHttp2Client;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Map;

/**
 * Frame payloads the test client has no method for, built by hand: header blocks HPACK-encoded as
 * literals without indexing (so they leave both sides' dynamic tables as they were, and can be
 * sent beside the client's own encoder), split into HEADERS + CONTINUATION, padded or with a
 * priority; and the small fixed-layout frames.
 */
final class RawFrames {
  private RawFrames() {}

  /** An HPACK header block of literals without indexing, new names (RFC 7541 §6.2.2). */
  static byte[] literalHeaderBlock(Map<String, String> headers) {
    ByteArrayOutputStream block = new ByteArrayOutputStream();
    headers.forEach((name, value) -> {
      block.write(0x00);
      writeString(block, name);
      writeString(block, value);
    });
    return block.toByteArray();
  }

  private static void writeString(ByteArrayOutputStream out, String text) {
    byte[] bytes = text.getBytes(UTF_8);
    writeInteger(out, bytes.length, 7, 0x00); // H = 0: no Huffman
    out.writeBytes(bytes);
  }

  private static void writeInteger(ByteArrayOutputStream out, int value, int prefixBits, int flags) {
    int max = (1 << prefixBits) - 1;
    if (value < max) {
      out.write(flags | value);
      return;
    }
    out.write(flags | max);
    int rest = value - max;
    while (rest >= 128) {
      out.write((rest & 0x7f) | 0x80);
      rest >>>= 7;
    }
    out.write(rest);
  }

  /**
   * Sends {@code block} on {@code streamId} as one HEADERS frame and {@code continuations} more
   * CONTINUATION frames, in one write, with END_STREAM if asked; {@code padding} bytes of padding
   * (PADDED) if positive; a priority (PRIORITY flag) on {@code dependsOn} if non-negative.
   * Returns the number of frames sent.
   */
  static int sendHeaderBlock(RawHttp2Client client, int streamId, byte[] block, int continuations, boolean endStream,
      int padding, int dependsOn, int weight) {
    int pieces = Math.max(1, Math.min(continuations + 1, block.length));
    int size = (block.length + pieces - 1) / pieces;
    client.corked(() -> {
      for (int i = 0, offset = 0; i < pieces; i++) {
        int end = i == pieces - 1 ? block.length : Math.min(block.length, offset + size);
        byte[] fragment = Arrays.copyOfRange(block, offset, end);
        offset = end;
        boolean last = i == pieces - 1;
        if (i == 0) {
          ByteArrayOutputStream payload = new ByteArrayOutputStream();
          int flags = (endStream ? RawHttp2Client.FLAG_END_STREAM : 0) | (last ? RawHttp2Client.FLAG_END_HEADERS : 0);
          if (padding > 0) {
            flags |= RawHttp2Client.FLAG_PADDED;
            payload.write(padding);
          }
          if (dependsOn >= 0) {
            flags |= RawHttp2Client.FLAG_PRIORITY;
            payload.writeBytes(int32(dependsOn));
            payload.write(weight);
          }
          payload.writeBytes(fragment);
          if (padding > 0) {
            payload.writeBytes(new byte[padding]);
          }
          client.sendRawFrame(RawHttp2Client.HEADERS, flags, streamId, payload.toByteArray());
        } else {
          client.sendRawFrame(RawHttp2Client.CONTINUATION, last ? RawHttp2Client.FLAG_END_HEADERS : 0, streamId,
              fragment);
        }
      }
    });
    return pieces;
  }

  /** A DATA payload with PADDED: the pad length, the data, then that many zero bytes. */
  static byte[] paddedData(byte[] data, int padding) {
    byte[] payload = new byte[1 + data.length + padding];
    payload[0] = (byte) padding;
    System.arraycopy(data, 0, payload, 1, data.length);
    return payload;
  }

  /** A PRIORITY payload: exclusive bit and stream dependency, then the weight. */
  static byte[] priority(boolean exclusive, int dependsOn, int weight) {
    byte[] payload = Arrays.copyOf(int32(dependsOn | (exclusive ? 0x80000000 : 0)), 5);
    payload[4] = (byte) weight;
    return payload;
  }

  /** A WINDOW_UPDATE payload (the reserved bit clear). */
  static byte[] windowUpdate(long increment) {
    return int32((int) (increment & 0x7fffffffL));
  }

  /** A SETTINGS payload from id, value pairs. */
  static byte[] settings(long... idValuePairs) {
    byte[] payload = new byte[idValuePairs.length / 2 * 6];
    for (int i = 0; i + 1 < idValuePairs.length; i += 2) {
      int at = i / 2 * 6;
      payload[at] = (byte) (idValuePairs[i] >>> 8);
      payload[at + 1] = (byte) idValuePairs[i];
      System.arraycopy(int32((int) idValuePairs[i + 1]), 0, payload, at + 2, 4);
    }
    return payload;
  }

  static byte[] int32(int value) {
    return new byte[] {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value};
  }
}
