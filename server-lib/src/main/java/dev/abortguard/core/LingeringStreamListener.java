package dev.abortguard.core;

/**
 * Told by an {@link EarlyCloseTracker} when a stream starts and stops lingering; the metrics
 * binding implements it. Called on the connection's thread; must not block.
 */
public interface LingeringStreamListener {
  /** Records nothing. */
  LingeringStreamListener NONE = new LingeringStreamListener() {
    @Override
    public void onLingering() {}

    @Override
    public void onReleased(ReleaseCause cause, long lingeredNanos) {}
  };

  /** A stream was ended by the server while the peer still had it open. */
  void onLingering();

  /** A stream that was lingering for {@code lingeredNanos} no longer is. */
  void onReleased(ReleaseCause cause, long lingeredNanos);
}
