package dev.abortguard.probe;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The report as JSON, schema {@value #SCHEMA}: every field is always present (null when it does
 * not apply), so scripts can rely on the names. The module's README documents them; a change to
 * a name or a meaning needs a new schema version.
 */
final class ReportJson {
  static final String SCHEMA = "abortguard-probe/check/v1";

  private ReportJson() {}

  static String render(CheckReport report) {
    CheckOptions options = report.options();
    Verdict verdict = report.verdict();
    JsonWriter json = new JsonWriter().beginObject();
    json.name("schema").value(SCHEMA);
    json.name("target").value(options.target().toString());
    json.name("tls").value(options.tls());
    json.name("authority").value(options.authority());
    json.name("path").value(options.path());
    json.name("calls_requested").value(options.calls());
    json.name("wait_ms").value(options.waitMillis());
    json.name("verdict").value(verdict.jsonName());
    json.name("exit_code").value(verdict.exitCode());
    json.name("message").value(report.message());
    json.name("summary").beginObject()
        .name("calls").value(report.calls().size())
        .name("statuses").value(report.statuses())
        .name("followed_by_nothing").value(report.followedByNothing())
        .name("followed_by_rst_no_error").value(report.followedByResetNoError())
        .name("followed_by_rst_other").value(report.followedByResetOther())
        .name("reset_before_status").value(report.resetBeforeStatus());
    json.name("status_counts").beginObject();
    for (Map.Entry<String, Integer> entry : report.statusCounts().entrySet()) {
      json.name(entry.getKey()).value(entry.getValue());
    }
    json.endObject().endObject();
    json.name("calls").beginArray();
    for (CallRecord call : report.calls()) {
      writeCall(json, call);
    }
    json.endArray();
    return json.endObject().toString();
  }

  private static void writeCall(JsonWriter json, CallRecord call) {
    Long code = call.resetCode();
    json.beginObject()
        .name("call").value(call.number())
        .name("stream_id").value(call.streamId())
        .name("http_status").value(call.httpStatus())
        .name("grpc_status").value(call.hasStatus() ? call.grpcStatus() : null)
        .name("grpc_status_name").value(call.hasStatus() ? Http2Names.grpcStatusName(call.grpcStatus()) : null)
        .name("grpc_message").value(call.hasStatus() ? call.grpcMessage() : null)
        .name("trailers_only").value(call.trailersOnly())
        .name("status_after_us").value(call.ended() ? micros(call.nanosToEnd()) : null)
        .name("followed_by").value(followedBy(call))
        .name("rst_code").value(code)
        .name("rst_code_name").value(code == null ? null : Http2Names.errorName(code))
        .name("rst_after_us").value(call.resetAfterEnd() ? micros(call.nanosEndToReset()) : null)
        .name("rst_same_read").value(call.resetAfterEnd() ? call.resetInSameRead() : null)
        .name("status_lost").value(call.statusLost())
        .name("problem").value(call.abandoned());
    json.name("frames").beginArray();
    for (FrameRecord frame : call.frames()) {
      json.beginInlineObject()
          .name("t_us").value(micros(frame.nanosSinceStart()))
          .name("direction").value(frame.direction() == FrameRecord.Direction.SENT ? "sent" : "received")
          .name("type").value(frame.type())
          .name("end_stream").value(frame.endStream())
          .name("error_code").value(frame.errorCode())
          .name("read").value(frame.read() == FrameRecord.NOT_READ ? null : frame.read())
          .endInlineObject();
    }
    json.endArray().endObject();
  }

  /** What followed the status: {@code nothing}, {@code rst_stream}, or null when there was no status. */
  static String followedBy(CallRecord call) {
    if (!call.hasStatus()) {
      return null;
    }
    return call.resetAfterEnd() ? "rst_stream" : "nothing";
  }

  private static long micros(long nanos) {
    return TimeUnit.NANOSECONDS.toMicros(nanos);
  }
}
