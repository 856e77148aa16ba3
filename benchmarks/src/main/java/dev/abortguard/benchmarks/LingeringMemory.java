package dev.abortguard.benchmarks;

import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.EarlyCloseTracker;
import dev.abortguard.internal.core.LingeringBudget;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Heap retained per lingering stream by one {@link EarlyCloseTracker} holding 1k, 10k and 100k
 * streams: used heap after full GCs with the tracker filled, minus used heap before, divided by
 * the stream count. Prints a table; {@code --json FILE} also writes the numbers for the report.
 *
 * <p>Run it in its own JVM ({@code java -XX:+UseParallelGC -cp benchmarks.jar
 * dev.abortguard.benchmarks.LingeringMemory}): the parallel collector compacts the whole heap on
 * {@code System.gc()}, so used heap is exact to the byte and the delta is the tracker's alone.
 * Under G1 the figure for large trackers also includes region rounding: the hash table becomes a
 * humongous object, which occupies whole regions.
 */
public final class LingeringMemory {
  static final int[] SIZES = {1_000, 10_000, 100_000};
  static final int ROUNDS = 5;

  private LingeringMemory() {}

  public static void main(String[] args) throws IOException {
    Path json = args.length == 2 && args[0].equals("--json") ? Path.of(args[1]) : null;
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    List<String> entries = new ArrayList<>();
    System.out.println("| lingering streams | bytes retained | bytes/stream |");
    System.out.println("|---:|---:|---:|");
    for (int size : SIZES) {
      fill(size); // Warms the code and the class data so the first round measures only the tracker.
      long[] deltas = new long[ROUNDS];
      for (int r = 0; r < ROUNDS; r++) {
        deltas[r] = retainedBy(size, memory);
      }
      Arrays.sort(deltas);
      long median = deltas[ROUNDS / 2];
      double perStream = (double) median / size;
      System.out.printf(Locale.ROOT, "| %,d | %,d | %.1f |%n", size, median, perStream);
      entries.add(String.format(Locale.ROOT,
          "{\"streams\": %d, \"bytesRetained\": %d, \"bytesPerStream\": %.2f}", size, median, perStream));
    }
    if (json != null) {
      Files.writeString(json, "[\n  " + String.join(",\n  ", entries) + "\n]\n", StandardCharsets.UTF_8);
    }
  }

  /**
   * One measurement in a frame of its own: the tracker of a previous round must not survive in a
   * local variable slot, which an interpreted frame keeps as a GC root until it is overwritten.
   */
  private static long retainedBy(int size, MemoryMXBean memory) {
    long before = usedAfterGc(memory);
    EarlyCloseTracker tracker = fill(size);
    long after = usedAfterGc(memory);
    Reference.reachabilityFence(tracker);
    return after - before;
  }

  /** A tracker as a connection would hold it: odd client stream ids, real nanoTime stamps. */
  private static EarlyCloseTracker fill(int size) {
    EarlyCloseTracker tracker = new EarlyCloseTracker(
        ResetPolicy.DEFERRED, Long.MAX_VALUE, Integer.MAX_VALUE, new LingeringBudget(Integer.MAX_VALUE));
    for (int i = 0; i < size; i++) {
      tracker.serverEnded(2 * i + 1, System.nanoTime());
    }
    return tracker;
  }

  private static long usedAfterGc(MemoryMXBean memory) {
    long used = Long.MAX_VALUE;
    // Repeat until the number settles: one System.gc() may leave finalizable or weakly reachable
    // objects for the next.
    for (int i = 0; i < 10; i++) {
      System.gc();
      long now = memory.getHeapMemoryUsage().getUsed();
      if (now >= used) {
        return now;
      }
      used = now;
    }
    return used;
  }
}
