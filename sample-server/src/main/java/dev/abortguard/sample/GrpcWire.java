package dev.abortguard.sample;

import io.grpc.Status;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;

/**
 * The parts of the gRPC over HTTP/2 protocol the frame-codec transport writes by hand: response
 * headers, status trailers and the 5-byte message prefix (see gRPC's PROTOCOL-HTTP2.md).
 */
final class GrpcWire {
  /** A message's prefix: a compressed flag byte and a 4-byte big-endian length. */
  static final int PREFIX_BYTES = 5;
  /** gRPC's default limit for one received message. */
  static final int MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

  static final AsciiString CONTENT_TYPE = AsciiString.cached("content-type");
  static final AsciiString APPLICATION_GRPC = AsciiString.cached("application/grpc");
  static final AsciiString GRPC_STATUS = AsciiString.cached("grpc-status");
  static final AsciiString GRPC_MESSAGE = AsciiString.cached("grpc-message");
  private static final AsciiString OK = AsciiString.cached("200");
  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private GrpcWire() {}

  /** {@code :status 200} and {@code content-type application/grpc}. */
  static Http2Headers responseHeaders() {
    return new DefaultHttp2Headers().status(OK).set(CONTENT_TYPE, APPLICATION_GRPC);
  }

  /**
   * The trailers that end a call with {@code status}: after response headers, or, with {@code
   * trailersOnly}, as the only HEADERS frame of the response (so with the response headers' fields).
   */
  static Http2Headers trailers(Status status, boolean trailersOnly) {
    Http2Headers trailers = trailersOnly ? responseHeaders() : new DefaultHttp2Headers();
    trailers.setInt(GRPC_STATUS, status.getCode().value());
    if (status.getDescription() != null && !status.getDescription().isEmpty()) {
      trailers.set(GRPC_MESSAGE, percentEncode(status.getDescription()));
    }
    return trailers;
  }

  /**
   * {@code grpc-message}'s encoding: the UTF-8 bytes, with each byte outside 0x20–0x7E, and {@code
   * %} itself, written as {@code %XX} (upper-case hex). Spaces stay spaces.
   */
  static String percentEncode(String message) {
    byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
    StringBuilder out = new StringBuilder(bytes.length);
    for (byte b : bytes) {
      int unsigned = b & 0xFF;
      if (unsigned >= 0x20 && unsigned <= 0x7E && unsigned != '%') {
        out.append((char) unsigned);
      } else {
        out.append('%').append(HEX[unsigned >> 4]).append(HEX[unsigned & 0xF]);
      }
    }
    return out.toString();
  }
}
