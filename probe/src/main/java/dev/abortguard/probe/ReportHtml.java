package dev.abortguard.probe;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The report as one self-contained HTML page ({@code --html}) to look at and to attach to a ticket:
 * the verdict with the table's advice text, the summary, and per call a timeline of every frame
 * with its time since the call's request. Inline CSS only: no script, no external resource, so it
 * reads the same offline, in a mail client or from a CI artifact.
 *
 * <p>The words come from {@link ReportTable} and {@link CheckReport#message()}, so the page and the
 * terminal never disagree. Everything that may have come from the wire or the command line (the
 * grpc-message, the target, the path, the error message quoting the peer's bytes) goes through
 * {@link #escape}. Request header values are not shown: they may be credentials.
 */
final class ReportHtml {
  private static final String CSS = String.join("\n",
      "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px 32px;color:#1f2328}",
      "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:24px 0 8px}h3{font-size:15px;margin:18px 0 6px}",
      "code,.mono,td.t,td.read{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,monospace;font-size:13px}",
      ".meta{color:#59636e;margin:2px 0}",
      ".verdict{border:2px solid;border-radius:8px;padding:12px 16px;margin:16px 0}",
      ".verdict h2{margin:0 0 6px}.verdict p{margin:0;max-width:75em}",
      ".keeps{background:#dafbe1;border-color:#1a7f37}.keeps h2{color:#116329}",
      ".loses{background:#ffebe9;border-color:#cf222e}.loses h2{color:#a40e26}",
      ".error{background:#eaeef2;border-color:#59636e}.error h2{color:#32383f}",
      "table{border-collapse:collapse}th,td{text-align:left;padding:3px 10px;border-bottom:1px solid #d1d9e0}",
      "th{background:#f6f8fa;font-weight:600}td.n{text-align:right}",
      "table.timeline{width:100%;max-width:1100px;table-layout:fixed}",
      "td.t{text-align:right}td.t,td.dir{white-space:nowrap}",
      "col.t{width:72px}col.dir{width:96px}col.type{width:160px}col.flags{width:112px}col.read{width:48px}",
      "col.when{width:150px}",
      "tr.sent td{color:#59636e}tr.lost td{background:#ffebe9;font-weight:600}tr.lost td.type{color:#a40e26}",
      ".track{display:block;position:relative;height:10px;background:#eaeef2;border-radius:5px}",
      ".dot{position:absolute;top:0;width:10px;height:10px;margin-left:-5px;border-radius:5px;background:#0969da}",
      "tr.sent .dot{background:#8c959f}tr.lost .dot{background:#cf222e}",
      ".problem{color:#a40e26}footer{margin-top:28px;color:#59636e;font-size:13px}");

  private ReportHtml() {}

  /**
   * The page.
   *
   * @param checkedAt when the check started, shown so a saved report says when it was true
   */
  static String render(CheckReport report, Instant checkedAt) {
    CheckOptions options = report.options();
    Verdict verdict = report.verdict();
    StringBuilder out = new StringBuilder(8192);
    out.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
        .append("<title>").append(escape(verdict.title() + ": " + options.target() + " - abortguard-probe"))
        .append("</title>\n")
        .append("<style>\n").append(CSS).append("\n</style>\n</head>\n<body>\n");
    out.append("<header>\n<h1>").append(escape(ReportTable.heading(options))).append("</h1>\n")
        .append("<p class=\"meta\">").append(escape(ReportTable.scope(report)))
        .append("; authority ").append(code(options.authority()))
        .append("; checked at ").append(escape(checkedAt.truncatedTo(ChronoUnit.SECONDS).toString())).append("</p>\n");
    if (!options.headers().isEmpty()) {
      String names = options.headers().stream().map(Map.Entry::getKey).distinct().collect(Collectors.joining(", "));
      out.append("<p class=\"meta\">request metadata sent: ").append(code(names)).append(" (values not shown)</p>\n");
    }
    out.append("</header>\n");
    out.append("<section class=\"verdict ").append(verdictClass(verdict)).append("\" id=\"verdict\">\n<h2>")
        .append(escape(ReportTable.verdictLine(verdict))).append("</h2>\n<p class=\"advice\">")
        .append(escape(report.message())).append("</p>\n</section>\n");
    if (!report.calls().isEmpty()) {
      summary(out, report);
      out.append("<section id=\"calls\">\n<h2>Calls: the frames the probe saw</h2>\n")
          .append("<p class=\"meta\">Times are milliseconds since the call's request. Received frames carry the"
              + " number of the socket read that brought them: frames with the same number arrived together.</p>\n");
      for (CallRecord call : report.calls()) {
        call(out, call, options);
      }
      out.append("</section>\n");
    }
    out.append("<footer>Written by abortguard-probe (").append(escape(ReportJson.SCHEMA))
        .append(" has the same data as JSON: <code>--json</code>).</footer>\n</body>\n</html>\n");
    return out.toString();
  }

  private static void summary(StringBuilder out, CheckReport report) {
    out.append("<section id=\"summary\">\n<h2>Summary</h2>\n<table class=\"summary\">\n");
    summaryRow(out, "calls", report.calls().size());
    summaryRow(out, "statuses received", report.statuses());
    for (Map.Entry<String, Integer> entry : report.statusCounts().entrySet()) {
      summaryRow(out, "\u2003" + entry.getKey(), entry.getValue());
    }
    summaryRow(out, "status followed by nothing", report.followedByNothing());
    summaryRow(out, "status followed by RST_STREAM(NO_ERROR)", report.followedByResetNoError());
    summaryRow(out, "status followed by another RST_STREAM (lost for C-core clients)", report.followedByResetOther());
    summaryRow(out, "reset before any status", report.resetBeforeStatus());
    out.append("</table>\n</section>\n");
  }

  private static void summaryRow(StringBuilder out, String label, int count) {
    out.append("<tr><td>").append(escape(label)).append("</td><td class=\"n\">").append(count).append("</td></tr>\n");
  }

  private static void call(StringBuilder out, CallRecord call, CheckOptions options) {
    out.append("<section class=\"call").append(call.statusLost() ? " lost" : "").append("\" id=\"call-")
        .append(call.number()).append("\">\n<h3>")
        .append(escape("call " + call.number() + " \u00b7 stream " + call.streamId() + " \u00b7 "
            + ReportTable.status(call) + " \u00b7 " + ReportTable.response(call)
            + (call.ended() ? " in " + ReportTable.millis(call.nanosToEnd()) : "")
            + " \u00b7 then " + ReportTable.then(call)))
        .append("</h3>\n");
    if (call.abandoned() != null) {
      out.append("<p class=\"problem\">").append(escape(call.abandoned())).append("</p>\n");
    }
    List<FrameRecord> frames = call.frames();
    long span = frames.stream().mapToLong(FrameRecord::nanosSinceStart).max().orElse(0);
    out.append("<table class=\"timeline\">\n<colgroup><col class=\"t\"/><col class=\"dir\"/><col class=\"type\"/>"
        + "<col class=\"flags\"/><col class=\"detail\"/><col class=\"read\"/><col class=\"when\"/></colgroup>\n"
        + "<thead><tr><th>t (ms)</th><th>dir</th><th>frame</th><th>flags</th>"
        + "<th>what it carried</th><th>read</th><th>timeline</th></tr></thead>\n<tbody>\n");
    boolean firstReset = true;
    for (FrameRecord frame : frames) {
      boolean theReset = firstReset && frame.direction() == FrameRecord.Direction.RECEIVED
          && frame.errorCode() != null;
      firstReset &= !theReset;
      frameRow(out, call, frame, theReset, span, options);
    }
    out.append("</tbody>\n</table>\n</section>\n");
  }

  /**
   * One frame.
   *
   * @param theReset this is the first reset the peer sent: the one the verdict is about
   */
  static void frameRow(StringBuilder out, CallRecord call, FrameRecord frame, boolean theReset, long span,
      CheckOptions options) {
    boolean sent = frame.direction() == FrameRecord.Direction.SENT;
    boolean lost = theReset && call.statusLost();
    String type = frame.errorCode() == null ? frame.type()
        : frame.type() + "(" + Http2Names.errorName(frame.errorCode()) + ")";
    double at = span <= 0 ? 0 : 100.0 * frame.nanosSinceStart() / span;
    out.append("<tr class=\"frame ").append(sent ? "sent" : "received").append(lost ? " lost" : "").append("\">")
        .append("<td class=\"t\">").append(String.format(Locale.ROOT, "%.3f", frame.nanosSinceStart() / 1e6))
        .append("</td><td class=\"dir\">").append(sent ? "\u2192 sent" : "\u2190 received")
        .append("</td><td class=\"type\">").append(escape(type))
        .append("</td><td class=\"flags\">").append(frame.endStream() ? "END_STREAM" : "")
        .append("</td><td class=\"detail\">").append(escape(detail(call, frame, theReset, options)))
        .append("</td><td class=\"read\">").append(sent ? "" : "#" + frame.read())
        .append("</td><td class=\"when\"><span class=\"track\"><span class=\"dot\" style=\"left:")
        .append(String.format(Locale.ROOT, "%.1f", at)).append("%\"></span></span></td></tr>\n");
  }

  private static String detail(CallRecord call, FrameRecord frame, boolean theReset, CheckOptions options) {
    boolean sent = frame.direction() == FrameRecord.Direction.SENT;
    switch (frame.type()) {
      case "HEADERS":
        if (sent) {
          return "POST " + options.path();
        }
        StringBuilder text = new StringBuilder();
        if (frame.httpStatus() != null) {
          text.append(":status ").append(frame.httpStatus());
        }
        if (frame.grpcStatus() != null) {
          text.append(text.length() == 0 ? "" : ", ").append("grpc-status ").append(frame.grpcStatus())
              .append(" (").append(Http2Names.grpcStatusName(frame.grpcStatus())).append(")");
        }
        if (frame.grpcMessage() != null) {
          text.append(", grpc-message \"").append(frame.grpcMessage()).append('"');
        }
        return text.toString();
      case "DATA":
        return frame.length() + " byte" + (frame.length() == 1 ? "" : "s")
            + (sent && frame.endStream() ? ": the probe ends its side" : "");
      case "RST_STREAM":
        if (sent) {
          return "the probe cancels its side";
        }
        if (!theReset) {
          return "";
        }
        if (!call.resetAfterEnd()) {
          return "instead of a status: no client sees the server's status";
        }
        String when = ReportTable.millis(call.nanosEndToReset()) + " after the status"
            + (call.resetInSameRead() ? ", in the same read" : "");
        return call.statusLost() ? when + ": a C-core client may report CANCELLED instead of the status"
            : when + ": clients accept it";
      default:
        return "";
    }
  }

  private static String verdictClass(Verdict verdict) {
    switch (verdict) {
      case KEEPS_STATUSES:
        return "keeps";
      case LOSES_STATUSES:
        return "loses";
      default:
        return "error";
    }
  }

  private static String code(String text) {
    return "<code>" + escape(text) + "</code>";
  }

  /**
   * Text for an HTML element or a quoted attribute: {@code & < > " '} as references, and control
   * characters, which HTML cannot carry, as U+FFFD. Safe for any string, from the wire or not.
   */
  static String escape(String text) {
    StringBuilder out = new StringBuilder(text.length() + 16);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '&':
          out.append("&amp;");
          break;
        case '<':
          out.append("&lt;");
          break;
        case '>':
          out.append("&gt;");
          break;
        case '"':
          out.append("&quot;");
          break;
        case '\'':
          out.append("&#39;");
          break;
        default:
          boolean control = (c < 0x20 && c != '\n' && c != '\t') || (c >= 0x7f && c < 0xa0);
          boolean paired = Character.isHighSurrogate(c)
              ? i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))
              : i > 0 && Character.isHighSurrogate(text.charAt(i - 1));
          boolean loneSurrogate = Character.isSurrogate(c) && !paired;
          out.append(control || loneSurrogate ? '\ufffd' : c);
      }
    }
    return out.toString();
  }
}
