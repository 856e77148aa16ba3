package dev.abortguard.core;

/** Carries out an {@link EarlyCloseTracker}'s decision to reset a stream with RST_STREAM(NO_ERROR). */
@FunctionalInterface
public interface StreamResetter {
  /** Resets the stream with NO_ERROR; the tracker has already forgotten it. */
  void resetWithNoError(int streamId);
}
