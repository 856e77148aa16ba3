package dev.abortguard.okhttp;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Keeps the {@code java.util.logging} records that match a filter, from the loggers it is attached
 * to, while open; {@link #quiet} ones also stop those loggers from printing (hostile input makes
 * grpc-okhttp log thousands of stack traces). Closing detaches it and restores the loggers.
 */
final class LogRecords extends Handler implements AutoCloseable {
  private final Predicate<LogRecord> keep;
  private final boolean quiet;
  private final List<Logger> loggers = new ArrayList<>();
  private final List<LogRecord> kept = new ArrayList<>();

  private LogRecords(Predicate<LogRecord> keep, boolean quiet, String... loggerNames) {
    this.keep = keep;
    this.quiet = quiet;
    for (String name : loggerNames) {
      Logger logger = Logger.getLogger(name);
      logger.addHandler(this);
      if (quiet) {
        logger.setUseParentHandlers(false);
      }
      loggers.add(logger); // held strongly: JUL keeps loggers only weakly
    }
  }

  /** Keeps what {@code keep} accepts from {@code loggerNames}; they still print. */
  static LogRecords watch(Predicate<LogRecord> keep, String... loggerNames) {
    return new LogRecords(keep, false, loggerNames);
  }

  /** Keeps what {@code keep} accepts from {@code loggerNames}, which print nothing meanwhile. */
  static LogRecords quiet(Predicate<LogRecord> keep, String... loggerNames) {
    return new LogRecords(keep, true, loggerNames);
  }

  @Override
  public synchronized void publish(LogRecord record) {
    if (keep.test(record)) {
      kept.add(record);
    }
  }

  /** The records kept so far, oldest first. */
  synchronized List<LogRecord> records() {
    return new ArrayList<>(kept);
  }

  @Override
  public void flush() {
    // Nothing buffered.
  }

  @Override
  public void close() {
    for (Logger logger : loggers) {
      logger.removeHandler(this);
      if (quiet) {
        logger.setUseParentHandlers(true);
      }
    }
  }
}
