package dev.abortguard.internal.core;

import dev.abortguard.internal.Internal;
import java.util.Locale;

/** Why a lingering stream stopped lingering: the {@code cause} tag of {@code grpc.server.streams.released}. */
@Internal
public enum ReleaseCause {
  /** The peer ended its side (END_STREAM, request trailers included): the stream closed normally. */
  PEER_END_STREAM,
  /** The peer reset the stream. */
  PEER_RESET,
  /** The server's own stack reset the stream (grpc-java on a deadline or cancellation, a stream error). */
  SERVER_RESET,
  /** The grace period ran out; the guard reset the stream with NO_ERROR. */
  GRACE_EXPIRED,
  /** The connection had {@code abortguard.lingering.max} lingering streams; the guard reset the eldest. */
  OVERFLOW,
  /**
   * The peer had as many streams open as the connection's MAX_CONCURRENT_STREAMS allows, some of
   * them lingering; the guard reset the eldest so that a new call gets its slot.
   */
  STREAM_LIMIT,
  /** The guard's streams across all connections reached {@code abortguard.lingering.maxTotal}; the guard reset this one at once. */
  TOTAL_LIMIT,
  /** The server is shutting down (grpc-java's GOAWAY {@code app_requested}); the guard reset the stream so shutdown is not held up. */
  SHUTDOWN,
  /** The server sent GOAWAY(NO_ERROR) for another reason (max connection age or idle, a frame-codec server closing); the guard reset the stream. */
  GOAWAY,
  /** The server sent GOAWAY with an error code; the guard reset the stream. */
  CONNECTION_ERROR,
  /** The connection closed before the stream ended, or before the guard's reset could be written. */
  CONNECTION_CLOSED,
  /** The {@code immediate} policy reset the stream with NO_ERROR together with the trailers. */
  IMMEDIATE;

  /** The tag value, e.g. {@code grace_expired}. */
  public String tagValue() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Whether the guard writes RST_STREAM(NO_ERROR) for a stream released this way. Such a release
   * is counted only once the reset was written; if the connection closed first it counts as
   * {@link #CONNECTION_CLOSED}.
   */
  public boolean resetsStream() {
    switch (this) {
      case GRACE_EXPIRED:
      case OVERFLOW:
      case STREAM_LIMIT:
      case TOTAL_LIMIT:
      case SHUTDOWN:
      case GOAWAY:
      case CONNECTION_ERROR:
      case IMMEDIATE:
        return true;
      default:
        return false;
    }
  }
}
