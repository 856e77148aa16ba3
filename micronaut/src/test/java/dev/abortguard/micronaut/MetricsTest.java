package dev.abortguard.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.Await;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The guard records into the application's Micrometer registry (micronaut-micrometer with its
 * Prometheus registry), and a scrape shows its meters; without a registry bean it still guards.
 */
class MetricsTest {
  @Test
  void prometheusScrapeShowsTheGuardsMeters() {
    try (MicronautApp app = MicronautApp.start("abortguard.reset", "deferred");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      Frame trailers = Wire.abortedBidi(client);
      client.sendRstStream(trailers.streamId(), RawHttp2Client.CANCEL);
      assertEquals(1, app.released(ReleaseCause.PEER_RESET, 1));
      PrometheusMeterRegistry prometheus = app.context.getBean(PrometheusMeterRegistry.class);
      Await.until("the abort in the scrape", () -> prometheus.scrape().contains("grpc_server_aborts_total{"),
          Duration.ofSeconds(5));
      String scrape = prometheus.scrape();
      assertTrue(scrape.matches("(?s).*grpc_server_aborts_total\\{[^}]*statusCode=\"PERMISSION_DENIED\"[^}]*} 1\\.0.*"),
          scrape);
      assertTrue(scrape.matches("(?s).*grpc_server_aborts_mitigated_total\\{[^}]*mitigation=\"reset_withheld\"[^}]*} 1\\.0.*"),
          scrape);
      assertTrue(scrape.matches("(?s).*grpc_server_streams_released_total\\{cause=\"peer_reset\"[^}]*} 1\\.0.*"), scrape);
      assertTrue(scrape.contains("grpc_server_streams_lingering "), scrape);
    }
  }

  @Test
  void withoutARegistryTheGuardStillWorks() {
    try (MicronautApp app = MicronautApp.start("micronaut.metrics.enabled", "false", "abortguard.reset", "immediate");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      assertTrue(app.context.findBean(MeterRegistry.class).isEmpty(), "this application has no MeterRegistry bean");
      Frame trailers = Wire.abortedBidi(client);
      Frame reset = client.awaitFrame(f -> Wire.isReset(f, trailers.streamId()), Wire.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
    }
  }
}
