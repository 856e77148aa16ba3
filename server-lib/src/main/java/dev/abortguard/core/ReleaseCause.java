package dev.abortguard.core;

import java.util.Locale;

/** Why a lingering stream stopped lingering: the {@code cause} tag of {@code grpc.server.streams.released}. */
public enum ReleaseCause {
  /** The peer ended its side (END_STREAM): the stream closed normally. */
  PEER_END_STREAM,
  /** The peer reset the stream. */
  PEER_RESET,
  /** The grace period ran out; the server reset the stream with NO_ERROR. */
  GRACE_EXPIRED,
  /** The connection had too many lingering streams; the server reset the oldest with NO_ERROR. */
  OVERFLOW,
  /** The server sent GOAWAY; it reset the stream with NO_ERROR so shutdown is not held up. */
  SHUTDOWN,
  /** The connection closed. */
  CONNECTION_CLOSED,
  /** The {@code immediate} policy reset the stream with NO_ERROR together with the trailers. */
  IMMEDIATE;

  /** The tag value, e.g. {@code grace_expired}. */
  public String tagValue() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Whether the server sends RST_STREAM(NO_ERROR) for a stream released this way. */
  public boolean resetsStream() {
    return this == GRACE_EXPIRED || this == OVERFLOW || this == SHUTDOWN || this == IMMEDIATE;
  }
}
