package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.Await;
import dev.abortguard.testing.OpenTelemetryReader;
import dev.abortguard.testing.RawHttp2Client;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.WebApplicationType;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.junit.jupiter.api.Test;

/**
 * The starter binds whichever the application has: its OpenTelemetry when it has no MeterRegistry,
 * its MeterRegistry (Micrometer stays the default) when it has both.
 */
class OpenTelemetryBindingTest {
  /** Boot's Micrometer auto-configurations, left out so that the application has no MeterRegistry. */
  private static final String NO_MICROMETER = "--spring.autoconfigure.exclude="
      + "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration,"
      + "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration,"
      + "org.springframework.boot.micrometer.metrics.autoconfigure.export.prometheus.PrometheusMetricsExportAutoConfiguration,"
      + "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration";
  private static final OpenTelemetryReader otel = new OpenTelemetryReader();

  /** The application's OpenTelemetry: an SDK the test reads in memory. */
  @Configuration(proxyBeanMethods = false)
  static class OpenTelemetryConfiguration {
    @Bean
    OpenTelemetry openTelemetry() {
      return otel.sdk();
    }
  }

  @Test
  void anOpenTelemetryOnlyApplicationSeesTheMeters() {
    long before = otel.sum("grpc.server.aborts");
    try (BootApp app = BootApp.start(WebApplicationType.NONE, List.of(OpenTelemetryConfiguration.class), NO_MICROMETER);
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      assertTrue(app.context.getBeansOfType(MeterRegistry.class).isEmpty(), "the application has no MeterRegistry");
      RawHttp2Client.Frame trailers = Wire.abortedBidi(client);
      client.sendData(trailers.streamId(), new byte[0], true);
      Await.until("the peer's end counted in OpenTelemetry", () -> otel.sum("grpc.server.streams.released",
          a -> "peer_end_stream".equals(a.get(AttributeKey.stringKey("abortguard.cause")))) >= 1, Duration.ofSeconds(5));
      assertEquals(before + 1, otel.sum("grpc.server.aborts"));
      assertEquals(1, otel.sum("grpc.server.aborts.mitigated",
          a -> "reset_withheld".equals(a.get(AttributeKey.stringKey("abortguard.mitigation")))));
    }
  }

  @Test
  void withBothMicrometerWins() {
    long before = otel.sum("grpc.server.aborts");
    try (BootApp app = BootApp.start(WebApplicationType.NONE, List.of(OpenTelemetryConfiguration.class));
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      RawHttp2Client.Frame trailers = Wire.abortedBidi(client);
      client.sendData(trailers.streamId(), new byte[0], true);
      MeterRegistry registry = app.meterRegistry();
      Await.until("the abort counted in Micrometer",
          () -> registry.find("grpc.server.aborts").counters().stream().mapToDouble(c -> c.count()).sum() == 1,
          Duration.ofSeconds(5));
      assertEquals(before, otel.sum("grpc.server.aborts"), "not in OpenTelemetry too");
    }
  }
}
