package dev.abortguard.probe;

import io.netty.handler.codec.http2.Http2Error;

/** Names of HTTP/2 error codes and gRPC status codes, for reports. */
final class Http2Names {
  private static final String[] GRPC_STATUS_NAMES = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"
  };

  private Http2Names() {}

  /** {@code CANCEL} for 8; {@code 0x1f} for a code RFC 9113 does not define. */
  static String errorName(long code) {
    Http2Error error = Http2Error.valueOf(code);
    return error != null ? error.name() : "0x" + Long.toHexString(code);
  }

  /** {@code UNIMPLEMENTED} for 12; {@code CODE_42} for a code gRPC does not define. */
  static String grpcStatusName(int code) {
    return code >= 0 && code < GRPC_STATUS_NAMES.length ? GRPC_STATUS_NAMES[code] : "CODE_" + code;
  }
}
