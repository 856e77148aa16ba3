package dev.abortguard.probe;

/**
 * One HTTP/2 frame of a call as the probe saw it: which way it went, when (relative to the call's
 * request), and, for received frames, in which socket read it arrived.
 */
final class FrameRecord {
  /** Which way a frame went. */
  enum Direction {
    SENT,
    RECEIVED
  }

  /** {@link #read()} of a frame the probe sent. */
  static final long NOT_READ = -1;

  private final Direction direction;
  private final String type;
  private final long nanosSinceStart;
  private final boolean endStream;
  private final Long errorCode;
  private final long read;

  private FrameRecord(Direction direction, String type, long nanosSinceStart, boolean endStream, Long errorCode,
      long read) {
    this.direction = direction;
    this.type = type;
    this.nanosSinceStart = nanosSinceStart;
    this.endStream = endStream;
    this.errorCode = errorCode;
    this.read = read;
  }

  static FrameRecord sent(String type, long nanosSinceStart, boolean endStream, Long errorCode) {
    return new FrameRecord(Direction.SENT, type, nanosSinceStart, endStream, errorCode, NOT_READ);
  }

  static FrameRecord received(String type, long nanosSinceStart, boolean endStream, Long errorCode, long read) {
    return new FrameRecord(Direction.RECEIVED, type, nanosSinceStart, endStream, errorCode, read);
  }

  Direction direction() {
    return direction;
  }

  /** The frame type's RFC 9113 name: HEADERS, DATA, RST_STREAM, WINDOW_UPDATE. */
  String type() {
    return type;
  }

  long nanosSinceStart() {
    return nanosSinceStart;
  }

  boolean endStream() {
    return endStream;
  }

  /** RST_STREAM's error code, else null. */
  Long errorCode() {
    return errorCode;
  }

  /** The number of the socket read that delivered a received frame; {@link #NOT_READ} for sent ones. */
  long read() {
    return read;
  }
}
