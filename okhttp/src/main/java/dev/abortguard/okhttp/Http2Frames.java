package dev.abortguard.okhttp;

/** The HTTP/2 frame layout (RFC 9113 §4.1, §6) as far as the socket-level adapter reads it. */
final class Http2Frames {
  /** Length (24 bits), type, flags, stream id (31 bits). */
  static final int HEADER_LENGTH = 9;

  static final int DATA = 0;
  static final int HEADERS = 1;
  static final int RST_STREAM = 3;
  static final int SETTINGS = 4;
  static final int GOAWAY = 7;
  static final int WINDOW_UPDATE = 8;

  /** On DATA and HEADERS. */
  static final int FLAG_END_STREAM = 0x1;
  /** On SETTINGS and PING. */
  static final int FLAG_ACK = 0x1;

  static final int SETTINGS_MAX_CONCURRENT_STREAMS = 3;

  static final int NO_ERROR = 0;
  static final int STREAM_CLOSED = 5;

  private Http2Frames() {}

  static int length(byte[] header) {
    return ((header[0] & 0xff) << 16) | ((header[1] & 0xff) << 8) | (header[2] & 0xff);
  }

  static int type(byte[] header) {
    return header[3] & 0xff;
  }

  static int flags(byte[] header) {
    return header[4] & 0xff;
  }

  static int streamId(byte[] header) {
    return readInt(header, 5) & 0x7fffffff;
  }

  /** The big-endian 32-bit value at {@code at}. */
  static int readInt(byte[] bytes, int at) {
    return ((bytes[at] & 0xff) << 24) | ((bytes[at + 1] & 0xff) << 16) | ((bytes[at + 2] & 0xff) << 8)
        | (bytes[at + 3] & 0xff);
  }
}
