package dev.abortguard.internal;

/**
 * The HTTP/2 frame layout (RFC 9113 §4.1, §6) as far as the adapters that read frames off a byte
 * stream read it: grpc-okhttp's socket streams and the Netty adapters' {@code LateFrameFilter}.
 */
@Internal
public final class Http2Frames {
  /** Length (24 bits), type, flags, stream id (31 bits). */
  public static final int HEADER_LENGTH = 9;

  public static final int DATA = 0;
  public static final int HEADERS = 1;
  public static final int RST_STREAM = 3;
  public static final int SETTINGS = 4;
  public static final int GOAWAY = 7;
  public static final int WINDOW_UPDATE = 8;

  /** On DATA and HEADERS. */
  public static final int FLAG_END_STREAM = 0x1;
  /** On HEADERS: no CONTINUATION follows. */
  public static final int FLAG_END_HEADERS = 0x4;
  /** On DATA and HEADERS: a pad length byte leads the payload. */
  public static final int FLAG_PADDED = 0x8;
  /** On HEADERS: the priority fields (5 bytes) lead the header block. */
  public static final int FLAG_PRIORITY = 0x20;
  /** On SETTINGS and PING. */
  public static final int FLAG_ACK = 0x1;

  public static final int SETTINGS_MAX_CONCURRENT_STREAMS = 3;

  public static final int NO_ERROR = 0;
  public static final int STREAM_CLOSED = 5;

  private Http2Frames() {}

  public static int length(byte[] header) {
    return ((header[0] & 0xff) << 16) | ((header[1] & 0xff) << 8) | (header[2] & 0xff);
  }

  public static int type(byte[] header) {
    return header[3] & 0xff;
  }

  public static int flags(byte[] header) {
    return header[4] & 0xff;
  }

  public static int streamId(byte[] header) {
    return readInt(header, 5) & 0x7fffffff;
  }

  /** The big-endian 32-bit value at {@code at}. */
  public static int readInt(byte[] bytes, int at) {
    return ((bytes[at] & 0xff) << 24) | ((bytes[at + 1] & 0xff) << 16) | ((bytes[at + 2] & 0xff) << 8)
        | (bytes[at + 3] & 0xff);
  }
}
