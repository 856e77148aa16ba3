package dev.abortguard.internal.core;

import dev.abortguard.internal.Internal;

/**
 * What a server stack gives the {@link ConnectionDriver} of one HTTP/2 connection: the few things
 * the driver cannot do without the stack. Each adapter implements it for its stack; none of these
 * methods decides anything.
 */
@Internal
public interface ConnectionPort {
  /** Told whether a reset reached the wire. */
  interface ResetWritten {
    /** @param onTheWire whether the RST_STREAM was written; {@code false} if the connection lost it */
    void written(boolean onTheWire);
  }

  /**
   * Writes RST_STREAM({@code streamId}, NO_ERROR) through the stack's own encoder, as the stack's
   * frames go, without flushing, and tells {@code done} once it is written or lost. Called on the
   * connection's thread, outside the stack's callbacks.
   */
  void writeReset(int streamId, ResetWritten done);

  /** Flushes what {@link #writeReset} wrote. */
  void flush();

  /** Runs {@code task} on the connection's thread once the current call has returned. */
  void execute(Runnable task);

  /**
   * Runs {@code task} on the connection's thread after {@code delayNanos} on the {@link #nanoTime}
   * clock.
   *
   * @return what cancels it
   */
  Runnable schedule(Runnable task, long delayNanos);

  /** Now, on the clock {@link #schedule} measures by. */
  long nanoTime();

  /** Streams the peer has opened and not ended or reset: what it counts against its limit. */
  int peerOpenStreams();

  /** The MAX_CONCURRENT_STREAMS this server advertised to the peer, {@link Integer#MAX_VALUE} for none. */
  int peerStreamLimit();
}
