package dev.abortguard.probe;

import java.io.PrintStream;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Progress of a long check on stderr, one line per call ({@code call 3/20: PERMISSION_DENIED (7),
 * then RST_STREAM(CANCEL)}), so an operator sees it is not hung. Calls that are over within
 * {@link #QUIET_NANOS} of the first one's start print nothing: short checks, and the scripts and
 * tests that read their stderr, keep their output as it was. The clock starts once the connection
 * is up: connecting is bounded by {@code --timeout} and a slow JVM or TLS start says nothing about
 * the length of the check. Stdout (the table or JSON) is never touched.
 */
final class CheckProgress {
  /** How long a check runs before it starts reporting progress. */
  static final long QUIET_NANOS = TimeUnit.SECONDS.toNanos(1);
  /** Reports nothing. */
  static final CheckProgress NONE = new CheckProgress(null, () -> 0);

  private final PrintStream err;
  private final LongSupplier nanoClock;
  private long startNanos;

  /**
   * @param err where the lines go, or null for nowhere
   * @param nanoClock {@link System#nanoTime()}, or a test's clock
   */
  CheckProgress(PrintStream err, LongSupplier nanoClock) {
    this.err = err;
    this.nanoClock = nanoClock;
    this.startNanos = nanoClock.getAsLong();
  }

  /** The connection is up and the first call starts now. */
  void connected() {
    startNanos = nanoClock.getAsLong();
  }

  /** Call {@code call.number()} of {@code total} is finished. */
  void callDone(CallRecord call, int total) {
    if (err == null || nanoClock.getAsLong() - startNanos < QUIET_NANOS) {
      return;
    }
    err.println(line(call, total));
    err.flush();
  }

  /** The words are the table's columns, so the terminal says the same thing in both places. */
  static String line(CallRecord call, int total) {
    return "call " + call.number() + "/" + total + ": " + ReportTable.status(call) + ", then "
        + ReportTable.then(call);
  }
}
