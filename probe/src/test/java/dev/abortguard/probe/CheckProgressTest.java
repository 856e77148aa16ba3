package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Progress lines: none for a short check, the table's words per call once it runs long. */
class CheckProgressTest {
  private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

  private final AtomicLong clock = new AtomicLong(5_000 * MS);
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final CheckProgress progress =
      new CheckProgress(new PrintStream(err, true, StandardCharsets.UTF_8), clock::get);

  @Test
  void quietWhileTheCheckIsShort() {
    clock.addAndGet(3_000 * MS); // connecting took long: not counted
    progress.connected();
    clock.addAndGet(999 * MS);
    progress.callDone(cancelled(1), 20);
    assertEquals("", text());
  }

  @Test
  void oneLinePerCallOnceItRunsLong() {
    progress.connected();
    clock.addAndGet(400 * MS);
    progress.callDone(cancelled(1), 20);
    clock.addAndGet(600 * MS);
    progress.callDone(cancelled(2), 20);
    CallRecord unanswered = new CallRecord(3, 5, 0);
    unanswered.abandon("the connection closed");
    progress.callDone(unanswered, 20);
    assertEquals(List.of("call 2/20: PERMISSION_DENIED (7), then RST_STREAM(CANCEL)",
        "call 3/20: none, then connection lost"), text().lines().collect(Collectors.toList()));
  }

  @Test
  void noneSaysNothing() {
    CheckProgress.NONE.connected();
    CheckProgress.NONE.callDone(cancelled(1), 1); // and does not fail without a stream
  }

  private String text() {
    return err.toString(StandardCharsets.UTF_8);
  }

  private static CallRecord cancelled(int number) {
    CallRecord call = new CallRecord(number, 2 * number - 1, 0);
    Http2Headers headers = new DefaultHttp2Headers().status("200");
    headers.add("grpc-status", "7");
    call.headersReceived(headers, true, MS, 3);
    call.resetReceived(8, MS, 3);
    return call;
  }
}
