package dev.abortguard.probe;

import java.util.Locale;

/** The report as a table for people: one line per call, then the verdict and what it means. */
final class ReportTable {
  private static final int WIDTH = 100;
  private static final String ROW = "%4s  %6s  %-24s  %-16s  %10s  %-22s  %10s  %s";

  private ReportTable() {}

  static String render(CheckReport report) {
    CheckOptions options = report.options();
    StringBuilder out = new StringBuilder();
    out.append(String.format("abortguard-probe check %s (%s), path %s%n", options.target(),
        options.tls() ? "TLS" : "h2c", options.path()));
    out.append(String.format("%d call(s), each watched for %s after its status%n%n", report.calls().size(),
        CommandLine.formatMillis(options.waitMillis())));
    if (!report.calls().isEmpty()) {
      out.append(line("call", "stream", "status", "response", "took", "then", "after", "same read"));
      for (CallRecord call : report.calls()) {
        out.append(row(call));
      }
      out.append(System.lineSeparator());
    }
    Verdict verdict = report.verdict();
    out.append(String.format("verdict: %s (exit %d)%n", verdict.title(), verdict.exitCode()));
    out.append(wrap(report.message(), WIDTH));
    return out.toString();
  }

  private static String row(CallRecord call) {
    String status;
    if (call.hasStatus()) {
      status = Http2Names.grpcStatusName(call.grpcStatus()) + " (" + call.grpcStatus() + ")";
    } else if (call.ended()) {
      status = "none (HTTP " + call.httpStatus() + ")";
    } else if (call.resetCode() != null) {
      status = "none: reset";
    } else {
      status = "none";
    }
    String response = !call.headersSeen() ? "-" : call.trailersOnly() ? "trailers-only" : "headers+trailers";
    String then;
    String after = "";
    String sameRead = "";
    if (call.resetCode() != null) {
      then = "RST_STREAM(" + Http2Names.errorName(call.resetCode()) + ")";
      if (call.resetAfterEnd()) {
        after = millis(call.nanosEndToReset());
        sameRead = call.resetInSameRead() ? "yes" : "no";
      }
    } else if (call.abandoned() != null) {
      then = "connection lost";
    } else {
      then = call.ended() ? "nothing" : "-";
    }
    return line(call.number(), call.streamId(), status, response,
        call.ended() ? millis(call.nanosToEnd()) : "-", then, after, sameRead);
  }

  /** Breaks {@code text} into lines of at most {@code width} characters, at spaces. */
  static String wrap(String text, int width) {
    StringBuilder out = new StringBuilder();
    int lineLength = 0;
    for (String word : text.split(" ")) {
      if (lineLength > 0 && lineLength + 1 + word.length() > width) {
        out.append(System.lineSeparator());
        lineLength = 0;
      } else if (lineLength > 0) {
        out.append(' ');
        lineLength++;
      }
      out.append(word);
      lineLength += word.length();
    }
    return out.append(System.lineSeparator()).toString();
  }

  private static String line(Object... columns) {
    return String.format(ROW, columns).stripTrailing() + System.lineSeparator();
  }

  /** {@code 0.213 ms}. */
  static String millis(long nanos) {
    return String.format(Locale.ROOT, "%.3f ms", nanos / 1e6);
  }
}
