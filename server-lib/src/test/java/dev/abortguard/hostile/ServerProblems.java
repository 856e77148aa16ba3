package dev.abortguard.hostile;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Records what goes wrong inside the servers while a hostile test runs: {@code java.util.logging}
 * records at WARNING and above from the loggers {@code dev.abortguard}, {@code io.grpc} and {@code
 * io.netty} (Netty logs through JUL here: no SLF4J or Log4j on the test class path), and
 * exceptions no thread caught. {@link #guardThrowables()} picks the ones that passed through the
 * guard's own code: any throwable in a record, or uncaught, with a stack frame (its causes and
 * suppressed exceptions included) in the library's main classes.
 */
final class ServerProblems implements AutoCloseable {
  /** The loggers watched; held strongly, as JUL keeps loggers only weakly. */
  private final List<Logger> loggers = new ArrayList<>();
  private final Handler handler;
  private final Thread.UncaughtExceptionHandler previous;
  private final List<LogRecord> records = Collections.synchronizedList(new ArrayList<>());
  private final List<Throwable> uncaught = Collections.synchronizedList(new ArrayList<>());

  private ServerProblems() {
    handler = new Handler() {
      @Override
      public void publish(LogRecord record) {
        if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
          records.add(record);
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    handler.setLevel(Level.WARNING);
    for (String name : List.of("dev.abortguard", "io.grpc", "io.netty")) {
      Logger logger = Logger.getLogger(name);
      logger.addHandler(handler);
      loggers.add(logger);
    }
    previous = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
      uncaught.add(e);
      if (previous != null) {
        previous.uncaughtException(thread, e);
      } else {
        System.err.println("Exception in thread \"" + thread.getName() + "\"");
        e.printStackTrace();
      }
    });
  }

  /** Starts recording. */
  static ServerProblems install() {
    return new ServerProblems();
  }

  /** How many records and uncaught exceptions there are so far: a mark for {@link #since}. */
  int mark() {
    return records.size() + uncaught.size() * 1_000_000;
  }

  /** Every WARNING+ record so far, one line each (with its throwable's first line). */
  List<String> warnings() {
    List<String> lines = new ArrayList<>();
    synchronized (records) {
      for (LogRecord record : records) {
        Throwable thrown = record.getThrown();
        lines.add(record.getLevel() + " " + record.getLoggerName() + ": " + record.getMessage()
            + (thrown == null ? "" : " [" + thrown + "]"));
      }
    }
    return lines;
  }

  /**
   * Every throwable, logged at WARNING+ or uncaught, that has a frame in the library's main code,
   * with the log record that carried it and its full stack trace.
   */
  List<String> guardThrowables() {
    List<String> found = new ArrayList<>();
    synchronized (records) {
      for (LogRecord record : records) {
        Throwable thrown = record.getThrown();
        if (thrown != null && touchesGuard(thrown)) {
          found.add(record.getLevel() + " " + record.getLoggerName() + ": " + record.getMessage() + "\n"
              + stackTrace(thrown));
        }
      }
    }
    synchronized (uncaught) {
      for (Throwable e : uncaught) {
        if (touchesGuard(e)) {
          found.add("uncaught: " + stackTrace(e));
        }
      }
    }
    return found;
  }

  /** Uncaught exceptions of any origin (the test client's reader thread included). */
  List<Throwable> uncaught() {
    synchronized (uncaught) {
      return List.copyOf(uncaught);
    }
  }

  static boolean touchesGuard(Throwable thrown) {
    Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    List<Throwable> todo = new ArrayList<>(List.of(thrown));
    while (!todo.isEmpty()) {
      Throwable t = todo.remove(todo.size() - 1);
      if (t == null || !seen.add(t)) {
        continue;
      }
      for (StackTraceElement frame : t.getStackTrace()) {
        if (isMainGuardClass(frame.getClassName())) {
          return true;
        }
      }
      todo.add(t.getCause());
      todo.addAll(List.of(t.getSuppressed()));
    }
    return false;
  }

  /** The library's main classes (the tests live in {@code dev.abortguard} packages too). */
  static boolean isMainGuardClass(String className) {
    return className.startsWith("dev.abortguard.internal.")
        || className.startsWith("dev.abortguard.core.")
        || className.startsWith("dev.abortguard.AbortGuard")
        || className.startsWith("dev.abortguard.ResetPolicy");
  }

  static String stackTrace(Throwable thrown) {
    StringWriter text = new StringWriter();
    thrown.printStackTrace(new PrintWriter(text));
    return text.toString();
  }

  @Override
  public void close() {
    for (Logger logger : loggers) {
      logger.removeHandler(handler);
    }
    Thread.setDefaultUncaughtExceptionHandler(previous);
  }
}
