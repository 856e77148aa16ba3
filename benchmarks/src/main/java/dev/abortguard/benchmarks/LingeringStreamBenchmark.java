package dev.abortguard.benchmarks;

import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.EarlyCloseTracker;
import dev.abortguard.internal.core.LingeringBudget;
import dev.abortguard.internal.core.Release;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The tracker's cost per event on a connection that already has many lingering streams: each
 * operation is a stream ending early and then leaving (peer end, peer reset, or grace expiry), so
 * the number lingering stays at {@link #lingering}. Flat scores across sizes mean O(1) per event.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@OperationsPerInvocation(2) // Scores are per event: every invocation reports two.
public class LingeringStreamBenchmark {
  @Param({"1000", "10000", "100000"})
  public int lingering;

  private EarlyCloseTracker tracker;
  private long resets;
  /**
   * A fake nanoTime that advances one tick per invocation. The grace is {@link #lingering} ticks,
   * so in {@link #serverEndedThenExpired} exactly one stream, the eldest, runs out each time.
   */
  private long clock;
  private int firstFreeId;
  private int nextId;

  @Setup
  public void fill() {
    tracker = new EarlyCloseTracker(
        ResetPolicy.DEFERRED, lingering, Integer.MAX_VALUE, new LingeringBudget(Integer.MAX_VALUE));
    for (int i = 0; i < lingering; i++) {
      tracker.serverEnded(2 * i + 1, clock++); // Client-initiated streams have odd ids.
    }
    drain();
    firstFreeId = 2 * lingering + 1;
    nextId = firstFreeId;
  }

  @TearDown
  public void check() {
    if (tracker.lingeringCount() != lingering) {
      throw new IllegalStateException(
          "the benchmark drifted: " + tracker.lingeringCount() + " lingering, expected " + lingering);
    }
  }

  /** serverEnded, then the peer's END_STREAM: the normal end of an early-closed stream. */
  @Benchmark
  public void serverEndedThenPeerEnded() {
    int id = streamId();
    long now = clock++;
    tracker.serverEnded(id, now);
    tracker.peerEnded(id, now);
    drain();
  }

  /** serverEnded, then the peer's RST_STREAM: what a grpc-java or C-core client does. */
  @Benchmark
  public void serverEndedThenPeerReset() {
    int id = streamId();
    long now = clock++;
    tracker.serverEnded(id, now);
    tracker.peerReset(id, now);
    drain();
  }

  /** serverEnded, then expire() resetting the eldest stream whose grace ran out. */
  @Benchmark
  public long serverEndedThenExpired() {
    long now = clock++;
    tracker.serverEnded(streamId(), now);
    tracker.expire(now);
    drain();
    return resets;
  }

  /**
   * What every call that is not early-closed costs the tracker: its stream closes normally and the
   * adapter reports the peer's end for a stream that is not lingering. One event per invocation.
   */
  @Benchmark
  @OperationsPerInvocation(1)
  public void peerEndedNotLingering() {
    tracker.peerEnded(streamId(), clock++);
  }

  /** What an adapter does after each event: takes the decisions, counting the resets. */
  private void drain() {
    Release release;
    while ((release = tracker.pollRelease()) != null) {
      if (release.cause().resetsStream()) {
        resets++;
      }
    }
  }

  private int streamId() {
    int id = nextId;
    // Wrap long before overflow; the streams lingering then are the last few ids, far from these.
    nextId = id >= Integer.MAX_VALUE - 2 ? firstFreeId : id + 2;
    return id;
  }
}
