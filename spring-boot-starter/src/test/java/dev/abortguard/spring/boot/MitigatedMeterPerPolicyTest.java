package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.Await;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code grpc.server.aborts.mitigated} is in the {@code /actuator/prometheus} scrape from the start
 * under every {@code abortguard.reset} policy, as {@code grpc.server.streams.released} is: one series
 * per mitigation, reading 0, with the meter's tag keys and no method. After one abort only {@code
 * deferred} has mitigated anything (the reset it withheld); the others still read 0.
 */
class MitigatedMeterPerPolicyTest {
  private static final String MITIGATED = "grpc_server_aborts_mitigated_total";
  private static final List<Scrape.Series> NOTHING_MITIGATED = List.of(
      upFront("trailers_only"),
      upFront("reset_withheld"));

  @Test
  void neverReadsZeroBeforeAndAfterAnAbort() {
    assertMitigated(ResetPolicy.NEVER, 0);
  }

  @Test
  void deferredReadsZeroBeforeAnAbortAndCountsTheResetItWithheld() {
    assertMitigated(ResetPolicy.DEFERRED, 1);
  }

  @Test
  void immediateReadsZeroBeforeAndAfterAnAbort() {
    assertMitigated(ResetPolicy.IMMEDIATE, 0);
  }

  /** Before and after one aborted bidi call, which the client then resets as grpc-java clients do. */
  private static void assertMitigated(ResetPolicy policy, int withheldAfterOneAbort) {
    try (BootApp app = BootApp.startWeb("--abortguard.reset=" + policy.value());
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      assertEquals(policy, app.guard().config().reset());
      Scrape before = app.scrape();
      String lines = before.guardLines();
      assertEquals("counter", before.type(MITIGATED), lines);
      assertEquals(NOTHING_MITIGATED, sorted(before.series(MITIGATED)), lines);
      assertEquals(0, before.sum("grpc_server_aborts_total"), lines);
      assertTrue(before.has("grpc_server_streams_released_total"), "released causes are up front too:\n" + lines);
      assertEquals(0, before.sum("grpc_server_streams_released_total"), lines);

      Frame trailers = Wire.abortedBidi(client);
      client.sendRstStream(trailers.streamId(), RawHttp2Client.CANCEL);
      Await.until("the abort counted", () -> app.scrape().sum("grpc_server_aborts_total") == 1, Duration.ofSeconds(5));

      Scrape after = app.scrape();
      lines = after.guardLines();
      assertEquals(withheldAfterOneAbort, after.sum(MITIGATED), lines);
      assertEquals(withheldAfterOneAbort, after.sum(MITIGATED, "service", DemoService.SERVICE, "method", "Bidi",
          "statusCode", "PERMISSION_DENIED", "mitigation", "reset_withheld"), lines);
      assertEquals(NOTHING_MITIGATED, sorted(after.series(MITIGATED).stream()
          .filter(s -> s.labels().get("method").isEmpty()).toList()), "the up-front series stay at 0:\n" + lines);
      assertEquals(2 + withheldAfterOneAbort, after.series(MITIGATED).size(), lines);
    }
  }

  private static Scrape.Series upFront(String mitigation) {
    return new Scrape.Series(MITIGATED,
        Map.of("service", "", "method", "", "statusCode", "", "mitigation", mitigation), 0.0);
  }

  /** trailers_only first, as {@link #NOTHING_MITIGATED} lists them. */
  private static List<Scrape.Series> sorted(List<Scrape.Series> series) {
    return series.stream()
        .sorted((a, b) -> b.labels().get("mitigation").compareTo(a.labels().get("mitigation")))
        .toList();
  }
}
