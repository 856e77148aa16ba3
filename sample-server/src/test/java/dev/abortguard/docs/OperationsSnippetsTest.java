package dev.abortguard.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The snippet of docs/operations.md, and the Prometheus names the rules and the dashboard in ops/
 * rely on, as PrometheusMeterRegistry renders the guard's meters before any call.
 */
class OperationsSnippetsTest {
  @Test
  void aScrapeHasTheLimitsAndThePolicyFromTheStart() {
    // tag::prometheus[]
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    AbortGuard guard = AbortGuard.builder()
        .resetGrace(Duration.ofSeconds(2))
        .meterRegistry(registry)                     // the registry your /metrics endpoint scrapes
        .build();
    // end::prometheus[]

    String scrape = registry.scrape();
    List<String> expected = List.of(
        "abortguard_info{reset=\"deferred\",trailersOnly=\"true\"} 1",
        "abortguard_config_lingering_max 1024",
        "abortguard_config_lingering_max_server 10000",
        "abortguard_config_reset_grace_seconds 2",
        "abortguard_misconfigured_total{problem=\"transport_not_guarded\"} 0",
        "grpc_server_streams_lingering 0",
        "grpc_server_streams_released_total{cause=\"grace_expired\"} 0",
        "grpc_server_streams_linger_duration_seconds_count 0",
        "grpc_server_streams_linger_duration_seconds_max 0",
        "grpc_server_aborts_mitigated_total{method=\"\",mitigation=\"reset_withheld\",service=\"\",statusCode=\"\"} 0");
    for (String line : expected) {
      // Values print as 1 or 1.0 depending on the meter type; compare up to the number.
      assertTrue(scrape.lines().anyMatch(l -> l.equals(line) || l.equals(line + ".0")),
          "no line '" + line + "' in the scrape:\n" + scrape);
    }
    assertEquals(Duration.ofSeconds(2), guard.config().resetGrace());
  }
}
