package dev.abortguard.sample.e2e;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/** Prints the processes' logs (HAProxy's request log, the server's output) when a test fails. */
final class LogsOnFailure implements TestWatcher {
  private final List<Supplier<String>> sources = new CopyOnWriteArrayList<>();

  void watch(Supplier<String> source) {
    sources.add(source);
  }

  void clear() {
    sources.clear();
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    StringBuilder out = new StringBuilder("===== ").append(context.getDisplayName()).append(" failed: ")
        .append(cause).append('\n');
    for (Supplier<String> source : sources) {
      try {
        out.append(source.get()).append('\n');
      } catch (RuntimeException e) {
        out.append("(cannot read a log: ").append(e).append(")\n");
      }
    }
    System.out.println(out.append("=====").toString());
  }
}
