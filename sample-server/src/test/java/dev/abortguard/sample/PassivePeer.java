package dev.abortguard.sample;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A bare HTTP/2 peer on a plain socket: opens one call the demo server aborts at once, reads up to
 * its trailers, and then does nothing, never ending its side, as a passive peer does.
 */
final class PassivePeer {
  private static final int HEADERS = 0x1;
  private static final int END_STREAM = 0x1;
  private static final int END_HEADERS = 0x4;

  private PassivePeer() {}

  /** A frame read: its type, flags, stream and the first 4 payload bytes (an error code, for RST_STREAM). */
  static final class Frame {
    final int type;
    final int flags;
    final int stream;
    final long firstWord;

    Frame(int type, int flags, int stream, long firstWord) {
      this.type = type;
      this.flags = flags;
      this.stream = stream;
      this.firstWord = firstWord;
    }
  }

  /** Sends the preface, SETTINGS and an aborted Bidi call on stream 1; returns once its trailers arrived. */
  static void openAbortedCall(Socket socket) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    frame(out, 0x4, 0, 0, new byte[0]); // SETTINGS
    openCall(socket, 1);
    while (true) {
      Frame frame = read(socket);
      if (frame.type == HEADERS && frame.stream == 1 && (frame.flags & END_STREAM) != 0) {
        return;
      }
    }
  }

  /** Opens an aborted Bidi call on {@code stream}, leaving its side open. */
  static void openCall(Socket socket, int stream) throws IOException {
    openCall(socket, stream, true);
  }

  /**
   * Opens a Bidi call on {@code stream}, leaving its side open: aborted at once, or, without {@code
   * aborted}, a running echo call that lasts until the peer ends it (which this peer never does).
   */
  static void openCall(Socket socket, int stream, boolean aborted) throws IOException {
    OutputStream out = socket.getOutputStream();
    ByteArrayOutputStream block = new ByteArrayOutputStream();
    literal(block, ":method", "POST");
    literal(block, ":scheme", "http");
    literal(block, ":path", "/abortguard.demo.v1.DemoService/Bidi");
    literal(block, ":authority", "127.0.0.1");
    literal(block, "content-type", "application/grpc");
    literal(block, "te", "trailers");
    if (aborted) {
      literal(block, DemoAbortInterceptor.ABORT.name(), "PERMISSION_DENIED");
    }
    frame(out, HEADERS, END_HEADERS, stream, block.toByteArray());
    out.flush();
  }

  /** Sends one empty gRPC message (a 5-byte prefix of zeros) on {@code stream}, without END_STREAM. */
  static void sendEmptyMessage(Socket socket, int stream) throws IOException {
    frame(socket.getOutputStream(), 0x0, 0, stream, new byte[5]); // DATA
    socket.getOutputStream().flush();
  }

  /** Sends PING. */
  static void ping(Socket socket) throws IOException {
    frame(socket.getOutputStream(), 0x6, 0, 0, new byte[8]);
    socket.getOutputStream().flush();
  }

  /** The next frame; acknowledges the server's SETTINGS on the way. */
  static Frame read(Socket socket) throws IOException {
    DataInputStream in = new DataInputStream(socket.getInputStream());
    int length = (in.readUnsignedShort() << 8) | in.readUnsignedByte();
    int type = in.readUnsignedByte();
    int flags = in.readUnsignedByte();
    int stream = in.readInt() & 0x7fffffff;
    byte[] payload = new byte[length];
    in.readFully(payload);
    if (type == 0x4 && (flags & 0x1) == 0) {
      frame(socket.getOutputStream(), 0x4, 0x1, 0, new byte[0]); // SETTINGS ACK
      socket.getOutputStream().flush();
    }
    long firstWord = length >= 4
        ? ((payload[0] & 0xffL) << 24) | ((payload[1] & 0xff) << 16) | ((payload[2] & 0xff) << 8) | (payload[3] & 0xff)
        : -1;
    return new Frame(type, flags, stream, firstWord);
  }

  /** An HPACK literal header field without indexing, no Huffman coding (names and values under 127 bytes). */
  private static void literal(ByteArrayOutputStream block, String name, String value) {
    byte[] n = name.getBytes(StandardCharsets.US_ASCII);
    byte[] v = value.getBytes(StandardCharsets.US_ASCII);
    block.write(0x00);
    block.write(n.length);
    block.writeBytes(n);
    block.write(v.length);
    block.writeBytes(v);
  }

  private static void frame(OutputStream out, int type, int flags, int stream, byte[] payload) throws IOException {
    out.write(new byte[] {
        (byte) (payload.length >>> 16), (byte) (payload.length >>> 8), (byte) payload.length,
        (byte) type, (byte) flags,
        (byte) (stream >>> 24), (byte) (stream >>> 16), (byte) (stream >>> 8), (byte) stream});
    out.write(payload);
  }
}
