package dev.abortguard.probe;

/**
 * One HTTP/2 frame of a call as the probe saw it: which way it went, when (relative to the call's
 * request), for received frames in which socket read it arrived, and what the reports show of its
 * content (a DATA frame's length, the statuses a HEADERS frame carried, a reset's code).
 */
final class FrameRecord {
  /** Which way a frame went. */
  enum Direction {
    SENT,
    RECEIVED
  }

  /** {@link #read()} of a frame the probe sent. */
  static final long NOT_READ = -1;
  /** {@link #length()} of a frame that is not DATA. */
  static final int NO_LENGTH = -1;

  private final Direction direction;
  private final String type;
  private final long nanosSinceStart;
  private final boolean endStream;
  private final Long errorCode;
  private final long read;
  private final int length;
  private final Integer httpStatus;
  private final Integer grpcStatus;
  private final String grpcMessage;

  private FrameRecord(Direction direction, String type, long nanosSinceStart, boolean endStream, Long errorCode,
      long read, int length, Integer httpStatus, Integer grpcStatus, String grpcMessage) {
    this.direction = direction;
    this.type = type;
    this.nanosSinceStart = nanosSinceStart;
    this.endStream = endStream;
    this.errorCode = errorCode;
    this.read = read;
    this.length = length;
    this.httpStatus = httpStatus;
    this.grpcStatus = grpcStatus;
    this.grpcMessage = grpcMessage;
  }

  static FrameRecord sent(String type, long nanosSinceStart, boolean endStream, Long errorCode) {
    return new FrameRecord(Direction.SENT, type, nanosSinceStart, endStream, errorCode, NOT_READ, NO_LENGTH,
        null, null, null);
  }

  static FrameRecord sentData(long nanosSinceStart, int length, boolean endStream) {
    return new FrameRecord(Direction.SENT, "DATA", nanosSinceStart, endStream, null, NOT_READ, length,
        null, null, null);
  }

  static FrameRecord received(String type, long nanosSinceStart, boolean endStream, Long errorCode, long read) {
    return new FrameRecord(Direction.RECEIVED, type, nanosSinceStart, endStream, errorCode, read, NO_LENGTH,
        null, null, null);
  }

  static FrameRecord receivedData(long nanosSinceStart, int length, boolean endStream, long read) {
    return new FrameRecord(Direction.RECEIVED, "DATA", nanosSinceStart, endStream, null, read, length,
        null, null, null);
  }

  /**
   * A HEADERS frame the peer sent.
   *
   * @param httpStatus its {@code :status}, or null (trailers have none)
   * @param grpcStatus its {@code grpc-status}, or null
   * @param grpcMessage its {@code grpc-message}, percent-decoded, or null
   */
  static FrameRecord receivedHeaders(long nanosSinceStart, boolean endStream, long read, Integer httpStatus,
      Integer grpcStatus, String grpcMessage) {
    return new FrameRecord(Direction.RECEIVED, "HEADERS", nanosSinceStart, endStream, null, read, NO_LENGTH,
        httpStatus, grpcStatus, grpcMessage);
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

  /** A DATA frame's payload length in bytes; {@link #NO_LENGTH} for other frames. */
  int length() {
    return length;
  }

  /** A received HEADERS frame's {@code :status}, else null. */
  Integer httpStatus() {
    return httpStatus;
  }

  /** A received HEADERS frame's {@code grpc-status}, else null. */
  Integer grpcStatus() {
    return grpcStatus;
  }

  /** A received HEADERS frame's {@code grpc-message}, percent-decoded: text from the wire. Else null. */
  String grpcMessage() {
    return grpcMessage;
  }
}
