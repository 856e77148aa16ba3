package dev.abortguard.probe;

import java.util.Locale;

/** The report as a table for people: one line per call, then the verdict and what it means. */
final class ReportTable {
  private static final int WIDTH = 100;
  private static final String ROW = "%4s  %6s  %-24s  %-16s  %10s  %-22s  %10s  %s";

  private ReportTable() {}

  static String render(CheckReport report) {
    StringBuilder out = new StringBuilder();
    out.append(heading(report.options())).append(System.lineSeparator());
    out.append(scope(report)).append(System.lineSeparator()).append(System.lineSeparator());
    if (!report.calls().isEmpty()) {
      out.append(line("call", "stream", "status", "response", "took", "then", "after", "same read"));
      for (CallRecord call : report.calls()) {
        out.append(row(call));
      }
      out.append(System.lineSeparator());
    }
    Verdict verdict = report.verdict();
    out.append(verdictLine(verdict)).append(System.lineSeparator());
    out.append(wrap(report.message(), WIDTH));
    return out.toString();
  }

  private static String row(CallRecord call) {
    String after = "";
    String sameRead = "";
    if (call.resetAfterEnd()) {
      after = millis(call.nanosEndToReset());
      sameRead = call.resetInSameRead() ? "yes" : "no";
    }
    return line(call.number(), call.streamId(), status(call), response(call),
        call.ended() ? millis(call.nanosToEnd()) : "-", then(call), after, sameRead);
  }

  /** {@code abortguard-probe check 127.0.0.1:8443 (h2c), path /pkg.Svc/Method}. */
  static String heading(CheckOptions options) {
    return String.format("abortguard-probe check %s (%s), path %s", options.target(), options.tls() ? "TLS" : "h2c",
        options.path());
  }

  /** {@code 3 call(s), each watched for 100ms after its status}. */
  static String scope(CheckReport report) {
    return String.format("%d call(s), each watched for %s after its status", report.calls().size(),
        CommandLine.formatMillis(report.options().waitMillis()));
  }

  /** The verdict line: {@code verdict: KEEPS STATUSES (exit 0)}; the HTML report shows the same. */
  static String verdictLine(Verdict verdict) {
    return String.format("verdict: %s (exit %d)", verdict.title(), verdict.exitCode());
  }

  /** What status the call got: {@code PERMISSION_DENIED (7)}, {@code none (HTTP 503)}, {@code none: reset}. */
  static String status(CallRecord call) {
    if (call.hasStatus()) {
      return Http2Names.grpcStatusName(call.grpcStatus()) + " (" + call.grpcStatus() + ")";
    } else if (call.ended()) {
      return "none (HTTP " + call.httpStatus() + ")";
    } else if (call.resetCode() != null) {
      return "none: reset";
    }
    return "none";
  }

  /** {@code trailers-only}, {@code headers+trailers}, or {@code -} when no HEADERS came. */
  static String response(CallRecord call) {
    return !call.headersSeen() ? "-" : call.trailersOnly() ? "trailers-only" : "headers+trailers";
  }

  /** What followed: {@code RST_STREAM(CANCEL)}, {@code nothing}, {@code connection lost}, or {@code -}. */
  static String then(CallRecord call) {
    if (call.resetCode() != null) {
      return "RST_STREAM(" + Http2Names.errorName(call.resetCode()) + ")";
    } else if (call.abandoned() != null) {
      return "connection lost";
    }
    return call.ended() ? "nothing" : "-";
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
