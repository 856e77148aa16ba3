package dev.abortguard.testing;

import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import io.netty.util.ResourceLeakTracker;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty reports a leaked buffer (or any other leak-tracked resource) while
 * or after it runs. Netty only logs leaks; this extension records them too.
 *
 * <p>Its static initializer installs, once per JVM, a {@link ResourceLeakDetectorFactory} whose
 * detectors record each leak report (and still log it). That must happen before Netty creates its
 * first leak detector, i.e. before the first {@code ByteBuf} class is initialised, so the extension
 * is registered for every test automatically (JUnit auto-detection, enabled in {@code
 * junit-platform.properties}, and listed in {@code META-INF/services}); wire test classes should
 * still declare {@code @ExtendWith(LeakDetectionExtension.class)} so that they stay safe when run
 * without auto-detection. If the factory came too late, {@code beforeAll} fails with an
 * explanation.
 *
 * <p>After each test class it collects garbage, makes every detector report what it found (Netty
 * reports leaks only when it tracks a new resource), and fails the class if leaks were recorded
 * since the previous check; a leak found there may come from an earlier class whose garbage was
 * collected late. Leak records are most useful with {@code
 * -Dio.netty.leakDetection.level=paranoid}, which the build sets for surefire.
 */
public final class LeakDetectionExtension implements BeforeAllCallback, AfterAllCallback {
  private static final List<RecordingDetector<?>> DETECTORS = new CopyOnWriteArrayList<>();
  private static final List<Leak> LEAKS = new ArrayList<>();
  private static final boolean INSTALLED_IN_TIME;
  private static volatile boolean quiet;

  static {
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
    // Initialise Netty's buffer classes now, so that their detector comes from our factory.
    PooledByteBufAllocator.DEFAULT.directBuffer(1).release();
    INSTALLED_IN_TIME = DETECTORS.stream().anyMatch(d -> d.resourceType.equals("ByteBuf"));
  }

  /** A leak report: the resource type (e.g. {@code ByteBuf}) and Netty's access records. */
  public static final class Leak {
    private final String resourceType;
    private final String records;

    Leak(String resourceType, String records) {
      this.resourceType = resourceType;
      this.records = records;
    }

    /** The leaked resource's type, e.g. {@code ByteBuf}. */
    public String resourceType() {
      return resourceType;
    }

    /** Netty's recorded accesses (with stack traces), or empty for an untraced leak. */
    public String records() {
      return records;
    }

    /** The type and records, as Netty would log them. */
    @Override
    public String toString() {
      return "LEAK: " + resourceType + (records.isEmpty() ? " (untraced)" : records);
    }
  }

  /**
   * Runs the garbage collector a few times and makes every detector report leaked resources, then
   * returns all leaks recorded and not yet {@link #takeLeaks taken}.
   */
  public static List<Leak> collectLeaks() {
    for (int i = 0; i < 3; i++) {
      collectGarbage();
      for (int j = 0; j < 4; j++) {
        PooledByteBufAllocator.DEFAULT.directBuffer(16).release();
        PooledByteBufAllocator.DEFAULT.heapBuffer(16).release();
      }
      for (RecordingDetector<?> detector : DETECTORS) {
        detector.reportNow();
      }
    }
    return leaks();
  }

  /** Like {@link #collectLeaks()}, without logging the leaks found: for deliberate leaks. */
  static List<Leak> collectLeaksQuietly() {
    quiet = true;
    try {
      return collectLeaks();
    } finally {
      quiet = false;
    }
  }

  /** The leaks recorded so far and not yet taken, without collecting garbage. */
  public static List<Leak> leaks() {
    synchronized (LEAKS) {
      return List.copyOf(LEAKS);
    }
  }

  /** Removes the recorded leaks that match and returns them. */
  public static List<Leak> takeLeaks(Predicate<? super Leak> filter) {
    synchronized (LEAKS) {
      List<Leak> taken = LEAKS.stream().filter(filter).collect(Collectors.toList());
      LEAKS.removeAll(taken);
      return taken;
    }
  }

  /** Fails if the leak detector factory was installed after Netty had created its detector. */
  @Override
  public void beforeAll(ExtensionContext context) {
    if (!INSTALLED_IN_TIME) {
      throw new ExtensionConfigurationException(
          "Netty's ByteBuf leak detector was created before LeakDetectionExtension could install"
              + " its factory, so leaks would go unnoticed: register the extension by JUnit"
              + " auto-detection or on the first test class, before anything uses Netty buffers");
    }
  }

  /** Collects leaks and fails the test class if there are any. */
  @Override
  public void afterAll(ExtensionContext context) {
    collectLeaks();
    List<Leak> leaks = takeLeaks(leak -> true);
    if (!leaks.isEmpty()) {
      throw new AssertionError(
          leaks.size()
              + " Netty resource leak(s) detected after "
              + context.getDisplayName()
              + " (or an earlier test class):\n"
              + leaks.stream().map(Leak::toString).collect(Collectors.joining("\n\n")));
    }
  }

  /** Waits (bounded) until a GC has cleared and enqueued a fresh weak reference. */
  private static void collectGarbage() {
    ReferenceQueue<Object> queue = new ReferenceQueue<>();
    WeakReference<Object> sentinel = new WeakReference<>(new Object(), queue);
    System.gc();
    try {
      queue.remove(1_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    sentinel.clear();
  }

  private static void record(Leak leak) {
    synchronized (LEAKS) {
      LEAKS.add(leak);
    }
  }

  /** Creates recording detectors. */
  private static final class RecordingFactory extends ResourceLeakDetectorFactory {
    @Override
    @SuppressWarnings("deprecation")
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(
        Class<T> resource, int samplingInterval, long maxActive) {
      return newResourceLeakDetector(resource, samplingInterval);
    }

    @Override
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(
        Class<T> resource, int samplingInterval) {
      RecordingDetector<T> detector = new RecordingDetector<>(resource, samplingInterval);
      DETECTORS.add(detector);
      return detector;
    }
  }

  /** A detector that records each leak it reports, and still logs it. */
  private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
    final String resourceType;

    RecordingDetector(Class<T> resource, int samplingInterval) {
      super(resource, samplingInterval);
      this.resourceType = resource.getSimpleName();
    }

    /** Report even when error logging is off, so that no leak goes unrecorded. */
    @Override
    protected boolean needReport() {
      return true;
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
      record(new Leak(resourceType, records));
      if (!quiet) {
        super.reportTracedLeak(resourceType, records);
      }
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
      record(new Leak(resourceType, ""));
      if (!quiet) {
        super.reportUntracedLeak(resourceType);
      }
    }

    /** Tracking a new object makes the detector report the leaks found since the last time. */
    @SuppressWarnings("unchecked")
    void reportNow() {
      Object probe = new Object();
      ResourceLeakTracker<Object> tracker =
          ((ResourceLeakDetector<Object>) this).trackForcibly(probe);
      if (tracker != null) {
        tracker.close(probe);
      }
    }
  }
}
