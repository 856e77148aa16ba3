package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The verdict and its words, from calls recorded by hand. */
class CheckReportTest {
  private static final long MS = 1_000_000;

  @Test
  void nothingAfterTheStatusKeepsIt() throws Exception {
    CheckReport report = report(trailersOnly(1), trailersOnly(2));
    assertEquals(Verdict.KEEPS_STATUSES, report.verdict());
    assertEquals(2, report.followedByNothing());
    assertEquals(Map.of("PERMISSION_DENIED", 2), report.statusCounts());
    assertTrue(report.message().startsWith("All 2 statuses arrived and nothing followed them within 100ms"),
        report.message());
  }

  @Test
  void noErrorResetKeepsItButWarnsAboutOldProxies() throws Exception {
    CallRecord call = trailersOnly(1);
    call.resetReceived(0, 2 * MS, 7); // same read as the trailers
    CheckReport report = report(call);
    assertEquals(Verdict.KEEPS_STATUSES, report.verdict());
    assertEquals(1, report.followedByResetNoError());
    assertTrue(call.resetInSameRead());
    assertEquals(1 * MS, call.nanosEndToReset());
    assertTrue(report.message().contains("(in the same read as the status)"), report.message());
    assertTrue(report.message().contains("would turn those resets into CANCEL"), report.message());
  }

  @Test
  void cancelAfterTheStatusLosesIt() throws Exception {
    CallRecord sameRead = trailersOnly(1);
    sameRead.resetReceived(8, 1 * MS, 7);
    CallRecord later = trailersOnly(2);
    later.resetReceived(8, 3 * MS, 8);
    CheckReport report = report(sameRead, later, trailersOnly(3));
    assertEquals(Verdict.LOSES_STATUSES, report.verdict());
    assertEquals(2, report.followedByResetOther());
    assertFalse(later.resetInSameRead());
    assertTrue(report.message().startsWith("2 of 3 statuses were followed by RST_STREAM(CANCEL)"
        + " (1 of 2 in the same read as the status, the others 2.000 ms after it)"), report.message());
  }

  @Test
  void resetWithoutStatusLosesIt() throws Exception {
    CallRecord call = new CallRecord(1, 1, 0);
    call.resetReceived(8, MS, 3);
    CheckReport report = report(call);
    assertEquals(Verdict.LOSES_STATUSES, report.verdict());
    assertEquals(1, report.resetBeforeStatus());
    assertEquals(0, report.statuses());
    assertTrue(report.message().contains("reset with RST_STREAM(CANCEL) before any status arrived"),
        report.message());
  }

  @Test
  void anErrorOverridesEverything() throws Exception {
    CheckReport report = new CheckReport(CheckOptions.parse(List.of("h:1")), List.of(trailersOnly(1)), "no way");
    assertEquals(Verdict.ERROR, report.verdict());
    assertEquals(2, report.verdict().exitCode());
    assertEquals("no way", report.message());
  }

  @Test
  void tableWrapsTheMessage() {
    assertEquals("aa bb" + System.lineSeparator() + "cc" + System.lineSeparator(), ReportTable.wrap("aa bb cc", 5));
  }

  @Test
  void grpcMessageIsPercentDecoded() {
    CallRecord call = new CallRecord(1, 1, 0);
    Http2Headers headers = new DefaultHttp2Headers().status("200");
    headers.add("grpc-status", "3").add("grpc-message", "bad %E2%82%AC 100%25");
    call.headersReceived(headers, true, MS, 1);
    assertEquals("bad € 100%", call.grpcMessage());
    assertTrue(call.trailersOnly());
  }

  private static CallRecord trailersOnly(int number) {
    CallRecord call = new CallRecord(number, 2 * number - 1, 0);
    Http2Headers headers = new DefaultHttp2Headers().status("200");
    headers.add("content-type", "application/grpc").add("grpc-status", "7");
    call.headersReceived(headers, true, MS, 7);
    return call;
  }

  private static CheckReport report(CallRecord... calls) throws UsageException {
    return new CheckReport(CheckOptions.parse(List.of("127.0.0.1:1")), List.of(calls), null);
  }
}
