package dev.abortguard.okhttp;

import dev.abortguard.internal.core.ConnectionPort;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A grpc-okhttp connection as the driver sees it. grpc-okhttp has no encoder to write through, so
 * the guard's frames (its resets, and a connection WINDOW_UPDATE for DATA it kept from grpc-okhttp)
 * wait here until {@link OutboundFrames} adds them to grpc-okhttp's output at a frame boundary.
 * The connection's "thread" is the connection guard's lock: timers take it before they run.
 */
final class OkHttpConnectionPort implements ConnectionPort {
  private final Object lock;
  private final OkHttpTimers timers;
  private final PeerStreams peers;
  private final List<QueuedReset> resets = new ArrayList<>();
  /** Bytes of dropped DATA still to be given back to the peer's connection window. */
  private long windowCredit;
  private int maxConcurrentStreams = Integer.MAX_VALUE;
  /** Called when frames wait: the outbound side writes them at its next frame boundary. */
  private Runnable framesWaiting = () -> { };

  /** A reset waiting for the outbound side, and whom to tell once it is written. */
  static final class QueuedReset {
    final int streamId;
    final ResetWritten done;

    QueuedReset(int streamId, ResetWritten done) {
      this.streamId = streamId;
      this.done = done;
    }
  }

  OkHttpConnectionPort(Object lock, OkHttpTimers timers, PeerStreams peers) {
    this.lock = lock;
    this.timers = timers;
    this.peers = peers;
  }

  void onFramesWaiting(Runnable framesWaiting) {
    this.framesWaiting = framesWaiting;
  }

  void maxConcurrentStreams(int value) {
    maxConcurrentStreams = value;
  }

  /** Gives {@code bytes} back to the peer's connection window with the next frames added. */
  void returnWindow(int bytes) {
    if (bytes > 0) {
      windowCredit += bytes;
      framesWaiting.run();
    }
  }

  boolean hasFrames() {
    return !resets.isEmpty() || windowCredit > 0;
  }

  /** The frames to write now: a connection WINDOW_UPDATE for dropped DATA, then the guard's resets. */
  Injections take() {
    int credit = (int) Math.min(windowCredit, Integer.MAX_VALUE);
    windowCredit -= credit;
    List<QueuedReset> taken = new ArrayList<>(resets);
    resets.clear();
    return new Injections(credit, taken);
  }

  /** The socket closed: resets still queued never reach the wire. */
  void closed() {
    for (QueuedReset reset : resets) {
      reset.done.written(false);
    }
    resets.clear();
    windowCredit = 0;
  }

  @Override
  public void writeReset(int streamId, ResetWritten done) {
    resets.add(new QueuedReset(streamId, done));
    peers.resetByGuard(streamId); // closed for the peer too
  }

  @Override
  public void flush() {
    framesWaiting.run();
  }

  /** {@link #writeReset} only queues, so the driver's task may run at once, under the lock it holds. */
  @Override
  public void execute(Runnable task) {
    task.run();
  }

  @Override
  public Runnable schedule(Runnable task, long delayNanos) {
    ScheduledFuture<?> timer = timers.schedule(() -> {
      synchronized (lock) {
        task.run();
      }
    }, delayNanos, TimeUnit.NANOSECONDS);
    return () -> timer.cancel(false);
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public int peerOpenStreams() {
    return peers.openCount();
  }

  @Override
  public int peerStreamLimit() {
    return maxConcurrentStreams;
  }
}
