package dev.abortguard.hostile;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Records what goes wrong inside the servers while a hostile test runs: {@code java.util.logging}
 * records at WARNING and above from the loggers {@code dev.abortguard}, {@code io.grpc} and {@code
 * io.netty} (Netty logs through JUL here: no SLF4J or Log4j on the test class path), records with
 * a throwable at FINE from grpc-java's {@code NettyServerHandler} (where it logs the cause of a
 * connection error), and exceptions no thread caught. While installed those loggers do not print: hostile input makes the
 * stacks log tens of thousands of stack traces; they are counted instead ({@link #warningCounts}).
 *
 * <p>{@link #guardThrowables()} picks what passed through the guard's own code: any throwable in a
 * record, or uncaught, with a stack frame (its causes and suppressed exceptions included) in the
 * library's main classes. {@link #guardWarnings()} lists the records of the guard's own loggers.
 */
final class ServerProblems implements AutoCloseable {
  /** The loggers watched; held strongly, as JUL keeps loggers only weakly. */
  private final List<Logger> loggers = new ArrayList<>();
  private final Handler handler;
  private final Logger grpcHandlerLogger;
  private final Level grpcHandlerLevel;
  private final Thread.UncaughtExceptionHandler previous;
  private final Map<String, Integer> counts = new TreeMap<>();
  private final List<String> guardThrowables = new ArrayList<>();
  private final List<String> guardWarnings = new ArrayList<>();
  private final List<Throwable> uncaught = new ArrayList<>();
  private int passedThrough;

  private ServerProblems() {
    handler = new Handler() {
      @Override
      public void publish(LogRecord record) {
        if (record.getLevel().intValue() >= Level.WARNING.intValue() || record.getThrown() != null) {
          ServerProblems.this.record(record);
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    handler.setLevel(Level.FINE);
    for (String name : List.of("dev.abortguard", "io.grpc", "io.netty")) {
      Logger logger = Logger.getLogger(name);
      logger.addHandler(handler);
      logger.setUseParentHandlers(false);
      loggers.add(logger);
    }
    // grpc-java logs the cause of a connection error only at FINE ("Connection Error"): an
    // exception thrown in the guard's frame listener ends up there.
    grpcHandlerLogger = Logger.getLogger("io.grpc.netty.NettyServerHandler");
    grpcHandlerLevel = grpcHandlerLogger.getLevel();
    grpcHandlerLogger.setLevel(Level.FINE);
    previous = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
      synchronized (this) {
        uncaught.add(e);
        if (touchesGuard(e)) {
          guardThrowables.add("uncaught in " + thread.getName() + ": " + stackTrace(e));
        }
      }
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

  private synchronized void record(LogRecord record) {
    String message = String.valueOf(record.getMessage());
    Throwable thrown = record.getThrown();
    boolean warning = record.getLevel().intValue() >= Level.WARNING.intValue();
    String key = (warning ? "" : "(" + record.getLevel() + ") ") + record.getLoggerName() + ": " + message
        + (thrown == null ? "" : " [" + thrown.getClass().getSimpleName() + ": " + thrown.getMessage() + "]");
    key = key.replaceAll("\\d+", "N");
    counts.merge(key.length() > 160 ? key.substring(0, 160) : key, 1, Integer::sum);
    if (thrown != null) {
      GuardFrame frame = guardFrame(thrown);
      if (frame == GuardFrame.OWN) {
        guardThrowables.add(record.getLevel() + " " + record.getLoggerName() + ": " + message + "\n"
            + stackTrace(thrown));
      } else if (frame == GuardFrame.PASSED_THROUGH) {
        passedThrough++;
      }
    }
    if (warning && record.getLoggerName() != null && record.getLoggerName().startsWith("dev.abortguard")) {
      guardWarnings.add(record.getLevel() + " " + record.getLoggerName() + ": " + message);
    }
  }

  /**
   * Every throwable, logged at WARNING+ or uncaught, that has a frame in the library's main code,
   * with the log record that carried it and its full stack trace.
   */
  synchronized List<String> guardThrowables() {
    return new ArrayList<>(guardThrowables);
  }

  /** WARNING+ records from the guard's own loggers, one line each. */
  synchronized List<String> guardWarnings() {
    return new ArrayList<>(guardWarnings);
  }

  /**
   * How many logged throwables the stack threw under one of the guard's pass-through decorators
   * (see {@link #touchesGuard}).
   */
  synchronized int passedThrough() {
    return passedThrough;
  }

  /** Uncaught exceptions of any origin (the test client's reader thread included). */
  synchronized List<Throwable> uncaught() {
    return new ArrayList<>(uncaught);
  }

  /**
   * How many WARNING+ records each logger and message produced (digits as N, the first 160
   * characters, with the throwable's type and message).
   */
  synchronized Map<String, Integer> warningCounts() {
    return new TreeMap<>(counts);
  }

  /**
   * Whether {@code thrown} (or a cause or suppressed exception) was thrown by the guard's code or by
   * code the guard called for its own ends: its stack has a frame in the library's main classes,
   * and the frame nearest the throw is not one of the guard's pass-through decorators handing a
   * frame on to the stack it decorates ({@link #PASS_THROUGH}). An exception grpc-java throws while
   * reading HEADERS that the guard's frame listener merely passed on is grpc-java's, and counted
   * by {@link #passedThrough()} instead. I/O exceptions (a socket the peer closed) never count.
   */
  static boolean touchesGuard(Throwable thrown) {
    return guardFrame(thrown) == GuardFrame.OWN;
  }

  private enum GuardFrame { NONE, PASSED_THROUGH, OWN }

  /**
   * Methods of the guard that hand a frame or a flush on to the stack they decorate, as
   * Class#method: an exception thrown further down (by grpc-java, Netty, the socket) passes
   * through them without being theirs.
   */
  static final Set<String> PASS_THROUGH = Set.of(
      "dev.abortguard.internal.grpc.GrpcConnectionAdapter$PeerFrames#onHeadersRead",
      "dev.abortguard.internal.grpc.GrpcConnectionAdapter$PeerFrames#onDataRead",
      "dev.abortguard.internal.netty.ResetBeforeFlushHandler#flush",
      "dev.abortguard.internal.netty.EarlyCloseFrameHandler#flush",
      "dev.abortguard.internal.netty.EarlyCloseFrameHandler#write",
      "dev.abortguard.internal.netty.EarlyCloseFrameHandler#channelRead",
      "dev.abortguard.internal.netty.EarlyCloseFrameHandler#channelReadComplete",
      "dev.abortguard.internal.netty.EarlyCloseFrameHandler#exceptionCaught",
      "dev.abortguard.internal.netty.LateFrameFilter#channelRead",
      "dev.abortguard.internal.netty.LateFrameFilter#handOn",
      "dev.abortguard.internal.netty.LateFrameFilter#filter",
      "dev.abortguard.internal.netty.LateFrameFilter$WriteWatch#write",
      "dev.abortguard.internal.netty.LateFrameFilter#channelReadComplete",
      "dev.abortguard.internal.netty.FrameEnds#onDataRead",
      "dev.abortguard.internal.netty.FrameEnds#onHeadersRead",
      "dev.abortguard.internal.netty.FrameEnds#onPriorityRead",
      "dev.abortguard.internal.netty.FrameEnds#onRstStreamRead",
      "dev.abortguard.internal.netty.FrameEnds#onSettingsAckRead",
      "dev.abortguard.internal.netty.FrameEnds#onSettingsRead",
      "dev.abortguard.internal.netty.FrameEnds#onPingRead",
      "dev.abortguard.internal.netty.FrameEnds#onPingAckRead",
      "dev.abortguard.internal.netty.FrameEnds#onPushPromiseRead",
      "dev.abortguard.internal.netty.FrameEnds#onGoAwayRead",
      "dev.abortguard.internal.netty.FrameEnds#onWindowUpdateRead",
      "dev.abortguard.internal.netty.FrameEnds#onUnknownFrame");

  private static GuardFrame guardFrame(Throwable thrown) {
    Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    List<Throwable> todo = new ArrayList<>(List.of(thrown));
    GuardFrame found = GuardFrame.NONE;
    while (!todo.isEmpty()) {
      Throwable t = todo.remove(todo.size() - 1);
      if (t == null || !seen.add(t)) {
        continue;
      }
      if (t instanceof java.io.IOException) {
        continue; // the socket failed (a peer that closed or reset it): nobody's code is at fault
      }
      StackTraceElement[] stack = t.getStackTrace();
      for (int i = 0; i < stack.length; i++) {
        if (isMainGuardClass(stack[i].getClassName())) {
          if (i > 0 && PASS_THROUGH.contains(stack[i].getClassName() + "#" + stack[i].getMethodName())) {
            found = GuardFrame.PASSED_THROUGH;
            break;
          }
          return GuardFrame.OWN;
        }
      }
      todo.add(t.getCause());
      todo.addAll(List.of(t.getSuppressed()));
    }
    return found;
  }

  /** The library's main classes (the tests live in {@code dev.abortguard} packages too). */
  static boolean isMainGuardClass(String className) {
    return className.startsWith("dev.abortguard.internal.")
        || className.startsWith("dev.abortguard.internal.core.")
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
    grpcHandlerLogger.setLevel(grpcHandlerLevel);
    for (Logger logger : loggers) {
      logger.removeHandler(handler);
      logger.setUseParentHandlers(true);
    }
    Thread.setDefaultUncaughtExceptionHandler(previous);
  }
}
