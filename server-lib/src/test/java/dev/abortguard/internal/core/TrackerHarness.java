package dev.abortguard.internal.core;

/**
 * Drives an {@link EarlyCloseTracker} the way an adapter does: after each event it drains the
 * decisions into a recorder, a release first and then, for a cause that resets, the reset.
 */
final class TrackerHarness {
  private final EarlyCloseTracker tracker;
  private final EarlyCloseTrackerTest.Recorder recorder;

  TrackerHarness(EarlyCloseTracker tracker, EarlyCloseTrackerTest.Recorder recorder) {
    this.tracker = tracker;
    this.recorder = recorder;
  }

  void serverEnded(int streamId, long now) {
    if (tracker.serverEnded(streamId, now)) {
      recorder.onLingering();
    }
    drain();
  }

  void peerEnded(int streamId, long now) {
    tracker.peerEnded(streamId, now);
    drain();
  }

  void peerReset(int streamId, long now) {
    tracker.peerReset(streamId, now);
    drain();
  }

  void serverReset(int streamId, long now) {
    tracker.serverReset(streamId, now);
    drain();
  }

  void closed(int streamId, ReleaseCause cause, long now) {
    tracker.closed(streamId, cause, now);
    drain();
  }

  void expire(long now) {
    tracker.expire(now);
    drain();
  }

  void goAwaySent(long now) {
    goAwaySent(ReleaseCause.SHUTDOWN, now);
  }

  void goAwaySent(ReleaseCause cause, long now) {
    tracker.goAwaySent(cause, now);
    drain();
  }

  void connectionClosed(long now) {
    tracker.connectionClosed(now);
    drain();
  }

  long nanosUntilNextDeadline(long now) {
    return tracker.nanosUntilNextDeadline(now);
  }

  int lingeringCount() {
    return tracker.lingeringCount();
  }

  boolean isLingering(int streamId) {
    return tracker.isLingering(streamId);
  }

  private void drain() {
    Release release;
    while ((release = tracker.pollRelease()) != null) {
      recorder.onReleased(release.cause(), release.lingeredNanos());
      if (release.cause().resetsStream()) {
        recorder.resetWithNoError(release.streamId());
      }
    }
  }
}
