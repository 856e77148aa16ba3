package dev.abortguard.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.LeakDetectionExtension.Leak;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakDetectionExtension.class)
class LeakDetectionExtensionTest {

  @Test
  void recordsALeakedBufferWithWhereItWasAllocated() {
    ResourceLeakDetector.Level level = ResourceLeakDetector.getLevel();
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    List<Leak> mine;
    try {
      leakOneBuffer();
      LeakDetectionExtension.collectLeaksQuietly();
    } finally {
      ResourceLeakDetector.setLevel(level);
      // Take our leak out even if the assertions fail, so that afterAll does not report it again.
      mine = LeakDetectionExtension.takeLeaks(allocatedIn("leakOneBuffer"));
    }
    assertEquals(1, mine.size(), () -> "expected exactly our leak, got " + mine);
    assertEquals("ByteBuf", mine.get(0).resourceType());
    assertTrue(mine.get(0).toString().startsWith("LEAK: ByteBuf"), mine.get(0)::toString);
  }

  @Test
  void releasedBuffersAreNotLeaks() {
    ByteBuf buffer = PooledByteBufAllocator.DEFAULT.directBuffer(64);
    buffer.writeLong(42);
    buffer.release();
    LeakDetectionExtension.collectLeaks();
    List<Leak> leaks = LeakDetectionExtension.takeLeaks(allocatedIn("releasedBuffersAreNotLeaks"));
    assertTrue(leaks.isEmpty(), () -> "unexpected leaks " + leaks);
  }

  private static Predicate<Leak> allocatedIn(String method) {
    return leak ->
        leak.records().contains(LeakDetectionExtensionTest.class.getName() + "." + method);
  }

  /** Allocates a buffer, uses it and drops it without releasing it. */
  private static void leakOneBuffer() {
    ByteBuf buffer = PooledByteBufAllocator.DEFAULT.directBuffer(64);
    buffer.writeInt(0xdead);
  }
}
