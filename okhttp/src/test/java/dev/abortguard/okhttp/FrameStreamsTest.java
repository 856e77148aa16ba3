package dev.abortguard.okhttp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.GuardParts;
import dev.abortguard.internal.Http2Frames;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The socket streams on their own, fed bytes in pieces of every size from 1 to 13: a frame header
 * split anywhere between two reads or writes changes nothing about what passes, what is withheld
 * and what the guard adds. The bytes are what grpc-okhttp and a client would exchange; header
 * blocks are opaque to the guard, so they are filler here.
 */
class FrameStreamsTest {
  private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] HEADER_BLOCK = "opaque hpack block".getBytes(StandardCharsets.US_ASCII);

  private final ByteArrayOutputStream socket = new ByteArrayOutputStream();

  private OkHttpConnectionGuard guard(ResetPolicy policy) {
    AbortGuard abortGuard = AbortGuard.builder().properties(name -> null)
        .reset(policy).resetGrace(Duration.ofMinutes(1)).build();
    return new OkHttpConnectionGuard(GuardParts.of(abortGuard), OkHttpTimers.SHARED, () -> { });
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 64})
  void earlyTrailersThenResetAreWithheldUnderDeferredWhateverThePieces(int piece) throws IOException {
    OkHttpConnectionGuard guard = guard(ResetPolicy.DEFERRED);
    byte[] request = concat(PREFACE, settings(), frame(Http2Frames.HEADERS, 0x4, 1, HEADER_BLOCK));
    assertArrayEquals(request, read(new InboundFrames(pieces(request, piece), guard), request.length),
        "inbound unchanged");

    OutboundFrames out = new OutboundFrames(socket, guard, OkHttpTimers.SHARED);
    byte[] trailers = frame(Http2Frames.HEADERS, 0x5, 1, HEADER_BLOCK);
    byte[] reset = rst(1, Http2Frames.NO_ERROR);
    write(out, concat(trailers, reset), piece);
    assertArrayEquals(trailers, socket.toByteArray(), "the trailers pass, grpc-okhttp's reset is withheld");
    assertEquals(1, guard.lingeringCount());

    // The peer's DATA on the lingering stream is kept from grpc-okhttp; its bytes come back as a
    // connection WINDOW_UPDATE, written by the guard's writer as grpc-okhttp is between frames.
    byte[] data = frame(Http2Frames.DATA, 0, 1, new byte[100]);
    byte[] next = frame(Http2Frames.HEADERS, 0x4, 3, HEADER_BLOCK);
    byte[] kept = concat(PREFACE, next);
    assertArrayEquals(kept, read(new InboundFrames(pieces(concat(PREFACE, data, next), piece), guard), kept.length),
        "DATA for the lingering stream dropped, the rest passes");
    awaitSocket(concat(trailers, windowUpdate(0, 100)));
    socket.reset();
    byte[] ping = frame(6, 0, 0, new byte[8]);

    // Request trailers end it; grpc-okhttp's RST(STREAM_CLOSED) answer to them is withheld too.
    byte[] requestTrailers = frame(Http2Frames.HEADERS, 0x5, 1, HEADER_BLOCK);
    read(new InboundFrames(pieces(concat(PREFACE, requestTrailers), piece), guard), PREFACE.length + requestTrailers.length);
    assertEquals(0, guard.lingeringCount());
    socket.reset();
    write(out, concat(rst(1, Http2Frames.STREAM_CLOSED), ping), piece);
    assertArrayEquals(ping, socket.toByteArray());
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 4, 9, 13, 64})
  void immediateLetsGrpcOkHttpsResetThrough(int piece) throws IOException {
    OkHttpConnectionGuard guard = guard(ResetPolicy.IMMEDIATE);
    byte[] request = concat(PREFACE, frame(Http2Frames.HEADERS, 0x4, 1, HEADER_BLOCK));
    read(new InboundFrames(pieces(request, piece), guard), request.length);
    OutboundFrames out = new OutboundFrames(socket, guard, OkHttpTimers.SHARED);
    byte[] both = concat(frame(Http2Frames.HEADERS, 0x5, 1, HEADER_BLOCK), rst(1, Http2Frames.NO_ERROR));
    write(out, both, piece);
    assertArrayEquals(both, socket.toByteArray());
    assertEquals(0, guard.lingeringCount());
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 5, 64})
  void streamsThePeerEndedFirstAreNotEarlyClosed(int piece) throws IOException {
    OkHttpConnectionGuard guard = guard(ResetPolicy.DEFERRED);
    byte[] request = concat(PREFACE, frame(Http2Frames.HEADERS, 0x5, 1, HEADER_BLOCK));
    read(new InboundFrames(pieces(request, piece), guard), request.length);
    OutboundFrames out = new OutboundFrames(socket, guard, OkHttpTimers.SHARED);
    byte[] trailers = frame(Http2Frames.HEADERS, 0x5, 1, HEADER_BLOCK);
    write(out, trailers, piece);
    assertArrayEquals(trailers, socket.toByteArray());
    assertEquals(0, guard.lingeringCount());
  }

  private void awaitSocket(byte[] expected) {
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (!java.util.Arrays.equals(expected, socket.toByteArray()) && System.nanoTime() - deadline < 0) {
      java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
    }
    assertArrayEquals(expected, socket.toByteArray());
  }

  // ---- bytes ----

  private static void write(OutboundFrames out, byte[] bytes, int piece) throws IOException {
    for (int at = 0; at < bytes.length; at += piece) {
      out.write(bytes, at, Math.min(piece, bytes.length - at));
    }
  }

  /**
   * The first {@code count} bytes grpc-okhttp would read, in small reads. Not to the end: the end
   * of the input is the socket closing, which releases everything.
   */
  private static byte[] read(InputStream in, int count) throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    byte[] buffer = new byte[7];
    while (all.size() < count) {
      int n = in.read(buffer, 0, Math.min(buffer.length, count - all.size()));
      if (n < 0) {
        break;
      }
      all.write(buffer, 0, n);
    }
    return all.toByteArray();
  }

  /** {@code bytes} handed out at most {@code piece} at a time, as a socket might. */
  private static InputStream pieces(byte[] bytes, int piece) {
    return new FilterInputStream(new ByteArrayInputStream(bytes)) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        return super.read(b, off, Math.min(len, piece));
      }
    };
  }

  static byte[] frame(int type, int flags, int streamId, byte[] payload) {
    byte[] frame = new byte[Http2Frames.HEADER_LENGTH + payload.length];
    frame[0] = (byte) (payload.length >>> 16);
    frame[1] = (byte) (payload.length >>> 8);
    frame[2] = (byte) payload.length;
    frame[3] = (byte) type;
    frame[4] = (byte) flags;
    putInt(frame, 5, streamId);
    System.arraycopy(payload, 0, frame, Http2Frames.HEADER_LENGTH, payload.length);
    return frame;
  }

  private static byte[] settings() {
    return frame(Http2Frames.SETTINGS, 0, 0, new byte[0]);
  }

  private static byte[] rst(int streamId, int code) {
    byte[] payload = new byte[4];
    putInt(payload, 0, code);
    return frame(Http2Frames.RST_STREAM, 0, streamId, payload);
  }

  private static byte[] windowUpdate(int streamId, int increment) {
    byte[] payload = new byte[4];
    putInt(payload, 0, increment);
    return frame(Http2Frames.WINDOW_UPDATE, 0, streamId, payload);
  }

  private static void putInt(byte[] bytes, int at, int value) {
    bytes[at] = (byte) (value >>> 24);
    bytes[at + 1] = (byte) (value >>> 16);
    bytes[at + 2] = (byte) (value >>> 8);
    bytes[at + 3] = (byte) value;
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      all.write(part, 0, part.length);
    }
    return all.toByteArray();
  }
}
