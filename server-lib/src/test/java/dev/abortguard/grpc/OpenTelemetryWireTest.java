package dev.abortguard.grpc;

import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.AbortGuard;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.Await;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.OpenTelemetryReader;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.TestServers;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.common.AttributeKey;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * OpenTelemetry counts what Micrometer counts for the same wire events: one guard given both
 * records each abort, mitigation and release into each, and a guard given only OpenTelemetry
 * records without a MeterRegistry anywhere.
 */
@ExtendWith(LeakDetectionExtension.class)
class OpenTelemetryWireTest {
  private static final Duration WAIT = Duration.ofSeconds(5);
  private static final Duration GRACE = Duration.ofMillis(300);
  private static final String BIDI = TestServers.path(TestServers.BIDI);
  private static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");
  private static final AttributeKey<String> CAUSE = AttributeKey.stringKey("abortguard.cause");
  private static final AttributeKey<String> MITIGATION = AttributeKey.stringKey("abortguard.mitigation");

  @Test
  void openTelemetryCountsWhatMicrometerCounts() {
    try (OpenTelemetryReader otel = new OpenTelemetryReader();
        GuardedTestServer server = GuardedTestServer.start(b -> b.openTelemetry(otel.sdk()).resetGrace(GRACE));
        RawHttp2Client client = server.connect()) {
      int left = abort(client); // lingers until the grace runs out
      int ended = abort(client);
      client.sendData(ended, new byte[0], true);
      int reset = abort(client);
      client.sendRstStream(reset, RawHttp2Client.CANCEL);
      int unary = client.startCall(TestServers.path(TestServers.UNARY), ABORT, true);
      client.awaitFrame(unary, HEADERS, WAIT);
      client.awaitFrame(f -> f.streamId() == left && f.type() == RawHttp2Client.RST_STREAM, WAIT);
      assertEquals(1, server.released(ReleaseCause.GRACE_EXPIRED, 1), client.describeFrames());

      for (ReleaseCause cause : ReleaseCause.values()) {
        assertEquals((long) server.released(cause), otel.sum("grpc.server.streams.released",
            a -> cause.tagValue().equals(a.get(CAUSE))), cause.tagValue());
      }
      assertEquals(3, server.releasedTotal(), client.describeFrames());
      assertEquals(4, (long) server.aborts());
      assertEquals((long) server.aborts(), otel.sum("grpc.server.aborts"));
      assertEquals(3, (long) server.mitigated("mitigation", "reset_withheld"));
      assertEquals((long) server.mitigated("mitigation", "reset_withheld"),
          otel.sum("grpc.server.aborts.mitigated", a -> "reset_withheld".equals(a.get(MITIGATION))));
      assertEquals((long) server.lingering(), otel.sum("grpc.server.streams.lingering"));
      Timer lingered = server.registry().find("grpc.server.streams.linger.duration").timer();
      assertEquals(lingered.count(), otel.histogramCount("grpc.server.streams.linger.duration"));
    }
  }

  @Test
  void aGuardGivenOnlyOpenTelemetryRecordsIntoIt() throws Exception {
    try (OpenTelemetryReader otel = new OpenTelemetryReader()) {
      AbortGuard guard = AbortGuard.builder().properties(name -> null).openTelemetry(otel.sdk()).build();
      Server server = TestServers.start(TestServers.withEcho(
          TestServers.configure(guard.forAddress(TestServers.LOOPBACK, InsecureServerCredentials.create()))));
      try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
        int stream = abort(client);
        client.sendData(stream, new byte[0], true);
        Await.until("the peer's end counted in OpenTelemetry",
            () -> otel.sum("grpc.server.streams.released", a -> "peer_end_stream".equals(a.get(CAUSE))) == 1, WAIT);
        assertEquals(1, otel.sum("grpc.server.aborts"));
        assertEquals(1, otel.sum("grpc.server.aborts.mitigated", a -> "reset_withheld".equals(a.get(MITIGATION))));
        assertEquals(0, otel.sum("grpc.server.streams.lingering"));
      } finally {
        TestServers.stop(server);
      }
    }
  }

  private static int abort(RawHttp2Client client) {
    int stream = client.startCall(BIDI, ABORT, false);
    assertEquals("7", client.awaitFrame(stream, HEADERS, WAIT).header("grpc-status"), client.describeFrames());
    client.sync();
    return stream;
  }
}
