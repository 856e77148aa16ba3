package dev.abortguard.okhttp;

import static dev.abortguard.internal.Http2Frames.DATA;
import static dev.abortguard.internal.Http2Frames.FLAG_ACK;
import static dev.abortguard.internal.Http2Frames.FLAG_END_STREAM;
import static dev.abortguard.internal.Http2Frames.GOAWAY;
import static dev.abortguard.internal.Http2Frames.HEADERS;
import static dev.abortguard.internal.Http2Frames.HEADER_LENGTH;
import static dev.abortguard.internal.Http2Frames.NO_ERROR;
import static dev.abortguard.internal.Http2Frames.RST_STREAM;
import static dev.abortguard.internal.Http2Frames.SETTINGS;
import static dev.abortguard.internal.Http2Frames.SETTINGS_MAX_CONCURRENT_STREAMS;
import static dev.abortguard.internal.Http2Frames.WINDOW_UPDATE;
import static dev.abortguard.internal.Http2Frames.flags;
import static dev.abortguard.internal.Http2Frames.length;
import static dev.abortguard.internal.Http2Frames.readInt;
import static dev.abortguard.internal.Http2Frames.streamId;
import static dev.abortguard.internal.Http2Frames.type;

import dev.abortguard.okhttp.OkHttpConnectionPort.QueuedReset;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;

/**
 * The socket output grpc-okhttp writes to: reads the HTTP/2 frames going out, tells the
 * connection's guard about trailers, resets, SETTINGS and GOAWAY, withholds the resets the guard
 * says to, and adds the guard's own frames (RST_STREAM, a connection WINDOW_UPDATE) at frame
 * boundaries. Bytes that pass are written to the socket in one write per call, as grpc-okhttp gave
 * them; nothing is buffered across calls except a frame header split between two of them.
 */
final class OutboundFrames extends OutputStream {
  private static final int FRAME_HEADER = HEADER_LENGTH;
  /** Enough for every SETTINGS grpc-okhttp sends and a GOAWAY's last stream and error code. */
  private static final int CAPTURE = 64;

  private final OutputStream socket;
  private final OkHttpConnectionGuard guard;
  private final OkHttpTimers timers;

  // The frame being written; guarded by this.
  private final byte[] header = new byte[FRAME_HEADER + 4];
  private int headerFill;
  private int payloadLeft;
  private int type;
  private int streamId;
  /** The frame is a RST_STREAM whose 13 bytes are held in {@link #header} until the guard decides. */
  private boolean holding;
  private final byte[] capture = new byte[CAPTURE];
  private int captureFill;
  private boolean capturing;

  /** Bytes to write to the socket at the end of this call. */
  private byte[] out = new byte[8192];
  private int outLength;
  private Injections injected = Injections.NONE;

  /** Set when the guard has frames to add; a writer task is queued for them. */
  private volatile boolean injectionsWaiting;
  private boolean writerQueued;
  private final Runnable writerTask = this::writeInjectionsNow;

  OutboundFrames(OutputStream socket, OkHttpConnectionGuard guard, OkHttpTimers timers) {
    this.socket = socket;
    this.guard = guard;
    this.timers = timers;
    guard.onInjectionsWaiting(this::injectionsWaiting);
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public synchronized void write(byte[] bytes, int offset, int length) throws IOException {
    int end = offset + length;
    int i = offset;
    while (i < end) {
      if (headerFill < FRAME_HEADER) {
        if (headerFill == 0) {
          addInjections(); // a frame boundary: the guard's frames may go here
        }
        int n = Math.min(FRAME_HEADER - headerFill, end - i);
        System.arraycopy(bytes, i, header, headerFill, n);
        headerFill += n;
        i += n;
        if (headerFill == FRAME_HEADER) {
          frameHeaderComplete();
        }
        continue;
      }
      int n = Math.min(payloadLeft, end - i);
      if (holding) {
        System.arraycopy(bytes, i, header, FRAME_HEADER + 4 - payloadLeft, n);
      } else {
        append(bytes, i, n);
        if (capturing && captureFill < CAPTURE) {
          int c = Math.min(n, CAPTURE - captureFill);
          System.arraycopy(bytes, i, capture, captureFill, c);
          captureFill += c;
        }
      }
      payloadLeft -= n;
      i += n;
      if (payloadLeft == 0) {
        frameComplete();
      }
    }
    if (headerFill == 0) {
      addInjections();
    }
    writeOut();
  }

  @Override
  public synchronized void flush() throws IOException {
    socket.flush();
  }

  @Override
  public void close() throws IOException {
    try {
      socket.close();
    } finally {
      guard.closed();
    }
  }

  private void frameHeaderComplete() {
    int length = length(header);
    type = type(header);
    int flags = flags(header);
    streamId = streamId(header);
    payloadLeft = length;
    holding = type == RST_STREAM && length == 4;
    capturing = (type == SETTINGS && (flags & FLAG_ACK) == 0) || type == GOAWAY;
    captureFill = 0;
    if (!holding) {
      append(header, 0, FRAME_HEADER);
    }
    if ((type == HEADERS || type == DATA) && (flags & FLAG_END_STREAM) != 0) {
      guard.serverEnded(streamId);
    }
    if (length == 0) {
      frameComplete();
    }
  }

  private void frameComplete() {
    headerFill = 0;
    if (holding) {
      holding = false;
      if (!guard.serverReset(streamId, readInt(header, FRAME_HEADER))) {
        append(header, 0, FRAME_HEADER + 4);
      }
    } else if (capturing) {
      capturing = false;
      if (type == SETTINGS) {
        for (int at = 0; at + 6 <= captureFill; at += 6) {
          int id = ((capture[at] & 0xff) << 8) | (capture[at + 1] & 0xff);
          if (id == SETTINGS_MAX_CONCURRENT_STREAMS) {
            guard.serverMaxConcurrentStreams(readInt(capture, at + 2));
          }
        }
      } else if (captureFill >= 8) {
        guard.serverGoAway(readInt(capture, 4));
      }
    }
  }

  // ---- the guard's own frames ----

  /** The guard has frames to add: write them at the next boundary, or from a writer if idle. */
  private void injectionsWaiting() {
    injectionsWaiting = true;
    synchronized (writerTask) {
      if (writerQueued) {
        return;
      }
      writerQueued = true;
    }
    timers.write(writerTask);
  }

  /** On a writer thread: grpc-okhttp may have nothing to write for a while. */
  private void writeInjectionsNow() {
    synchronized (writerTask) {
      writerQueued = false;
    }
    synchronized (this) {
      if (headerFill != 0) {
        return; // mid-frame: grpc-okhttp's next write reaches the boundary and adds them
      }
      addInjections();
      try {
        writeOut();
        socket.flush();
      } catch (IOException e) {
        guard.closed(); // the socket is gone; grpc-okhttp finds out on its own
      }
    }
  }

  private void addInjections() {
    if (!injectionsWaiting) {
      return;
    }
    injectionsWaiting = false;
    Injections next = guard.takeInjections();
    if (next.isEmpty()) {
      return;
    }
    if (next.windowCredit > 0) {
      appendFrameHeader(4, WINDOW_UPDATE, 0);
      appendInt(next.windowCredit);
    }
    for (QueuedReset reset : next.resets) {
      appendFrameHeader(4, RST_STREAM, reset.streamId);
      appendInt(NO_ERROR);
    }
    injected = injected.isEmpty() ? next : injected.plus(next);
  }

  private void writeOut() throws IOException {
    Injections written = injected;
    injected = Injections.NONE;
    if (outLength == 0) {
      return;
    }
    int length = outLength;
    outLength = 0;
    try {
      socket.write(out, 0, length);
    } catch (IOException e) {
      written.written(false);
      guard.closed();
      throw e;
    }
    written.written(true);
  }

  private void appendFrameHeader(int length, int frameType, int stream) {
    ensure(FRAME_HEADER);
    out[outLength++] = (byte) (length >>> 16);
    out[outLength++] = (byte) (length >>> 8);
    out[outLength++] = (byte) length;
    out[outLength++] = (byte) frameType;
    out[outLength++] = 0;
    appendInt(stream);
  }

  private void appendInt(int value) {
    ensure(4);
    out[outLength++] = (byte) (value >>> 24);
    out[outLength++] = (byte) (value >>> 16);
    out[outLength++] = (byte) (value >>> 8);
    out[outLength++] = (byte) value;
  }

  private void append(byte[] bytes, int offset, int length) {
    ensure(length);
    System.arraycopy(bytes, offset, out, outLength, length);
    outLength += length;
  }

  private void ensure(int more) {
    if (outLength + more > out.length) {
      out = Arrays.copyOf(out, Math.max(out.length * 2, outLength + more));
    }
  }

}
