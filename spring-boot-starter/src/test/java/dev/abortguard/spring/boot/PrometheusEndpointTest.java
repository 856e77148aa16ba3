package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.Await;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * With spring-boot-starter-actuator and micrometer-registry-prometheus, the guard records into the
 * application's registry and its meters appear at {@code /actuator/prometheus} with the counts of
 * what happened: five rejected bidi calls while the client was still sending, three then reset by
 * the client and two half-closed by it.
 */
class PrometheusEndpointTest {
  private static final String[] ABORT = {"service", DemoService.SERVICE, "method", "Bidi",
      "methodType", "BIDI_STREAMING", "statusCode", "PERMISSION_DENIED"};

  @Test
  void guardMetersAtActuatorPrometheus() {
    try (BootApp app = BootApp.startWeb();
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      assertTrue(app.scrape().has("grpc_server_streams_lingering"), "the gauge is registered at start");
      for (int i = 0; i < 5; i++) {
        Frame trailers = Wire.abortedBidi(client);
        if (i < 3) {
          client.sendRstStream(trailers.streamId(), RawHttp2Client.CANCEL); // as grpc-java clients do
        } else {
          client.sendData(trailers.streamId(), new byte[0], true); // as C-core clients do
        }
      }
      Await.until("5 streams released", () -> app.scrape().sum("grpc_server_streams_released_total") == 5,
          Duration.ofSeconds(5));

      Scrape scrape = app.scrape();
      String all = scrape.guardLines();
      assertEquals(5, scrape.sum("grpc_server_aborts_total", with(ABORT, "peer", "streaming",
          "response", "trailers_only")), all);
      assertEquals(5, scrape.sum("grpc_server_aborts_mitigated_total", "method", "Bidi",
          "statusCode", "PERMISSION_DENIED", "mitigation", "reset_withheld"), all);
      assertEquals(3, scrape.sum("grpc_server_streams_released_total", "cause", "peer_reset"), all);
      assertEquals(2, scrape.sum("grpc_server_streams_released_total", "cause", "peer_end_stream"), all);
      assertEquals(0, scrape.sum("grpc_server_streams_lingering"), all);
      assertEquals(5, scrape.sum("grpc_server_streams_linger_duration_seconds_count"), all);
      assertEquals(0, scrape.sum("abortguard_misconfigured_total"), all);
    }
  }

  private static String[] with(String[] labels, String... more) {
    String[] all = Arrays.copyOf(labels, labels.length + more.length);
    System.arraycopy(more, 0, all, labels.length, more.length);
    return all;
  }
}
