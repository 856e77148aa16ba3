package dev.abortguard.okhttp;

import static dev.abortguard.internal.Http2Frames.DATA;
import static dev.abortguard.internal.Http2Frames.FLAG_END_STREAM;
import static dev.abortguard.internal.Http2Frames.HEADERS;
import static dev.abortguard.internal.Http2Frames.HEADER_LENGTH;
import static dev.abortguard.internal.Http2Frames.RST_STREAM;
import static dev.abortguard.internal.Http2Frames.flags;
import static dev.abortguard.internal.Http2Frames.length;
import static dev.abortguard.internal.Http2Frames.streamId;
import static dev.abortguard.internal.Http2Frames.type;

import java.io.IOException;
import java.io.InputStream;

/**
 * The socket input grpc-okhttp reads from: reads the peer's HTTP/2 frames first, tells the
 * connection's guard what the peer opened, ended and reset, and keeps from grpc-okhttp the DATA
 * frames of streams that linger (grpc-okhttp has forgotten them; the guard gives their bytes back to
 * the connection window). DATA carries no header-compression state, so dropping it leaves the rest
 * of the connection as the peer meant it; every other frame passes unchanged.
 */
final class InboundFrames extends InputStream {
  /** {@code PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n}: the client's connection preface. */
  private static final int PREFACE = 24;
  private static final int FRAME_HEADER = HEADER_LENGTH;
  /** Larger DATA breaks grpc-okhttp's frame size limit: it is passed on for grpc-okhttp to refuse. */
  private static final int MAX_FRAME = 16384;

  private final InputStream socket;
  private final OkHttpConnectionGuard guard;
  private final byte[] raw = new byte[8192];
  private final byte[] ready = new byte[raw.length + FRAME_HEADER];
  private int readyStart;
  private int readyEnd;

  private int prefaceLeft = PREFACE;
  private final byte[] header = new byte[FRAME_HEADER];
  private int headerFill;
  private int payloadLeft;
  private boolean dropping;

  InboundFrames(InputStream socket, OkHttpConnectionGuard guard) {
    this.socket = socket;
    this.guard = guard;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] bytes, int offset, int length) throws IOException {
    if (length == 0) {
      return 0;
    }
    while (readyStart == readyEnd) {
      int n;
      try {
        n = socket.read(raw, 0, raw.length);
      } catch (IOException e) {
        guard.closed();
        throw e;
      }
      if (n < 0) {
        guard.closed();
        return -1;
      }
      readyStart = 0;
      readyEnd = 0;
      take(n);
    }
    int n = Math.min(length, readyEnd - readyStart);
    System.arraycopy(ready, readyStart, bytes, offset, n);
    readyStart += n;
    return n;
  }

  @Override
  public int available() {
    return readyEnd - readyStart;
  }

  @Override
  public void close() throws IOException {
    try {
      socket.close();
    } finally {
      guard.closed();
    }
  }

  private void take(int n) {
    int i = 0;
    while (i < n) {
      if (prefaceLeft > 0) {
        int k = Math.min(prefaceLeft, n - i);
        keep(raw, i, k);
        prefaceLeft -= k;
        i += k;
      } else if (headerFill < FRAME_HEADER) {
        int k = Math.min(FRAME_HEADER - headerFill, n - i);
        System.arraycopy(raw, i, header, headerFill, k);
        headerFill += k;
        i += k;
        if (headerFill == FRAME_HEADER) {
          frameHeaderComplete();
        }
      } else {
        int k = Math.min(payloadLeft, n - i);
        if (!dropping) {
          keep(raw, i, k);
        }
        payloadLeft -= k;
        i += k;
        if (payloadLeft == 0) {
          headerFill = 0;
        }
      }
    }
  }

  private void frameHeaderComplete() {
    int length = length(header);
    int type = type(header);
    boolean endStream = (flags(header) & FLAG_END_STREAM) != 0;
    int streamId = streamId(header);
    payloadLeft = length;
    dropping = false;
    if (streamId != 0) {
      if (type == DATA) {
        dropping = length <= MAX_FRAME && guard.peerData(streamId, endStream, length);
      } else if (type == HEADERS) {
        guard.peerHeaders(streamId, endStream);
      } else if (type == RST_STREAM) {
        guard.peerReset(streamId);
      }
    }
    if (!dropping) {
      keep(header, 0, FRAME_HEADER);
    }
    if (length == 0) {
      headerFill = 0;
    }
  }

  private void keep(byte[] bytes, int offset, int length) {
    System.arraycopy(bytes, offset, ready, readyEnd, length);
    readyEnd += length;
  }
}
