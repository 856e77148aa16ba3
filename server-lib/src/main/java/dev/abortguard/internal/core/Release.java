package dev.abortguard.internal.core;

import dev.abortguard.internal.Internal;

/** A tracker's decision: {@code streamId} stops lingering, for {@code cause}, after {@code lingeredNanos}. */
@Internal
public final class Release {
  private final int streamId;
  private final ReleaseCause cause;
  private final long lingeredNanos;

  Release(int streamId, ReleaseCause cause, long lingeredNanos) {
    this.streamId = streamId;
    this.cause = cause;
    this.lingeredNanos = lingeredNanos;
  }

  /** The HTTP/2 stream. */
  public int streamId() {
    return streamId;
  }

  /** Why it stops lingering; {@link ReleaseCause#resetsStream()} says whether the adapter must reset it. */
  public ReleaseCause cause() {
    return cause;
  }

  /** How long it lingered. */
  public long lingeredNanos() {
    return lingeredNanos;
  }

  @Override
  public String toString() {
    return "Release{stream=" + streamId + ", " + cause.tagValue() + ", " + lingeredNanos + "ns}";
  }
}
