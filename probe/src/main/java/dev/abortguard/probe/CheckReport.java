package dev.abortguard.probe;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The calls a check made, what went wrong if anything, and the verdict drawn from them. */
final class CheckReport {
  private final CheckOptions options;
  private final List<CallRecord> calls;
  private final String error;

  /**
   * @param error why the check could not finish, or null if it did
   */
  CheckReport(CheckOptions options, List<CallRecord> calls, String error) {
    this.options = options;
    this.calls = Collections.unmodifiableList(new ArrayList<>(calls));
    this.error = error;
  }

  CheckOptions options() {
    return options;
  }

  List<CallRecord> calls() {
    return calls;
  }

  Verdict verdict() {
    if (error != null) {
      return Verdict.ERROR;
    }
    return calls.stream().anyMatch(CallRecord::statusLost) ? Verdict.LOSES_STATUSES : Verdict.KEEPS_STATUSES;
  }

  int statuses() {
    return (int) calls.stream().filter(CallRecord::hasStatus).count();
  }

  int followedByNothing() {
    return (int) calls.stream().filter(c -> c.hasStatus() && c.resetCode() == null).count();
  }

  int followedByResetNoError() {
    return (int) calls.stream().filter(c -> c.hasStatus() && c.resetAfterEnd() && c.resetCode() == 0L).count();
  }

  int followedByResetOther() {
    return (int) calls.stream().filter(c -> c.hasStatus() && c.resetAfterEnd() && c.resetCode() != 0L).count();
  }

  int resetBeforeStatus() {
    return (int) calls.stream().filter(c -> c.resetCode() != null && !c.ended()).count();
  }

  /** How many calls ended with each gRPC status, by name, in code order. */
  Map<String, Integer> statusCounts() {
    Map<Integer, Integer> byCode = new TreeMap<>();
    for (CallRecord call : calls) {
      if (call.hasStatus()) {
        byCode.merge(call.grpcStatus(), 1, Integer::sum);
      }
    }
    Map<String, Integer> byName = new LinkedHashMap<>();
    byCode.forEach((code, count) -> byName.put(Http2Names.grpcStatusName(code), count));
    return byName;
  }

  /** One paragraph saying what the verdict means here and what to do about it. */
  String message() {
    if (error != null) {
      return error;
    }
    int total = calls.size();
    int lostAfter = followedByResetOther();
    int lostBefore = resetBeforeStatus();
    if (lostAfter + lostBefore > 0) {
      StringBuilder text = new StringBuilder();
      if (lostAfter > 0) {
        text.append(lostAfter).append(" of ").append(total).append(" statuses were followed by ")
            .append(resetCodes(true)).append(" (").append(delays()).append("): a C-core client (Python grpcio,"
                + " Ruby, C++) that reads the reset before it has finalised the trailers reports CANCELLED"
                + " instead of the status. Proxies without the fix do this when the backend resets with"
                + " NO_ERROR after its trailers (HAProxy before 3.2, 3.0.11 and 2.8.16; Envoy before 1.39);"
                + " a stock Netty Http2MultiplexHandler backend does it by itself.");
      }
      if (lostBefore > 0) {
        text.append(text.length() == 0 ? "" : " ").append(lostBefore).append(" of ").append(total)
            .append(" calls were reset with ").append(resetCodes(false))
            .append(" before any status arrived: no client sees the server's status.");
      }
      return text.toString();
    }
    int noError = followedByResetNoError();
    if (noError == 0) {
      return "All " + total + " statuses arrived and nothing followed them within "
          + CommandLine.formatMillis(options.waitMillis()) + ": C-core clients see the real status.";
    }
    return "All " + total + " statuses arrived; " + noError + " were followed by RST_STREAM(NO_ERROR) ("
        + delays() + "), which clients accept. An HTTP/2 proxy without the fix put in front of this target"
        + " (HAProxy before 3.2, 3.0.11 and 2.8.16; Envoy before 1.39) would turn those resets into CANCEL.";
  }

  private String resetCodes(boolean afterStatus) {
    Map<String, Integer> codes = new LinkedHashMap<>();
    for (CallRecord call : calls) {
      if (call.resetCode() != null && call.ended() == afterStatus && (!afterStatus || call.resetCode() != 0L)) {
        codes.merge("RST_STREAM(" + Http2Names.errorName(call.resetCode()) + ")", 1, Integer::sum);
      }
    }
    if (codes.size() == 1) {
      return codes.keySet().iterator().next();
    }
    List<String> parts = new ArrayList<>();
    codes.forEach((code, count) -> parts.add(code + " x" + count));
    return String.join(", ", parts);
  }

  /**
   * When the resets came: in the same socket read as the status (arrival is timed per read, so
   * those have no measurable delay), or how long after it.
   */
  private String delays() {
    long min = Long.MAX_VALUE;
    long max = -1;
    int resets = 0;
    int sameRead = 0;
    for (CallRecord call : calls) {
      if (call.resetAfterEnd()) {
        resets++;
        if (call.resetInSameRead()) {
          sameRead++;
        } else {
          min = Math.min(min, call.nanosEndToReset());
          max = Math.max(max, call.nanosEndToReset());
        }
      }
    }
    if (sameRead == resets) {
      return resets == 1 ? "in the same read as the status" : "each in the same read as its status";
    }
    String range = min == max ? ReportTable.millis(min) : ReportTable.millis(min) + " to " + ReportTable.millis(max);
    return (sameRead == 0 ? "" : sameRead + " of " + resets + " in the same read as the status, the others ")
        + range + " after it";
  }

}
