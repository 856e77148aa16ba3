package dev.abortguard.docs;

import static dev.abortguard.docs.DocServers.assertEnds;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.AbortGuard;
import dev.abortguard.sample.DemoCalls;
import io.grpc.Server;
import io.grpc.Status;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.LongPointData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The snippets of docs/metrics.md. */
class MetricsSnippetsTest {
  private final List<Server> servers = new ArrayList<>();
  private final InMemoryMetricReader reader = InMemoryMetricReader.create();
  private final OpenTelemetrySdk sdk =
      OpenTelemetrySdk.builder().setMeterProvider(SdkMeterProvider.builder().registerMetricReader(reader).build()).build();

  @AfterEach
  void stop() throws InterruptedException {
    DocServers.shutdown(servers);
    sdk.close();
  }

  @Test
  void openTelemetryInsteadOfMicrometer() throws Exception {
    OpenTelemetry openTelemetry = sdk;
    // tag::opentelemetry[]
    AbortGuard guard = AbortGuard.builder()
        .openTelemetry(openTelemetry)                  // the application's SDK, or the agent's GlobalOpenTelemetry.get()
        .build();
    // end::opentelemetry[]

    Server server = guard.forPort(0).addService(new DocServers.EchoService()).intercept(DocServers.denyAll())
        .build().start();
    servers.add(server);
    assertEnds(Status.Code.PERMISSION_DENIED, DemoCalls.channel(server.getPort()));
    long denied = reader.collectAllMetrics().stream()
        .filter(m -> m.getName().equals("grpc.server.aborts"))
        .flatMap(m -> m.getLongSumData().getPoints().stream())
        .filter(p -> Long.valueOf(Status.Code.PERMISSION_DENIED.value())
            .equals(p.getAttributes().get(AttributeKey.longKey("rpc.grpc.status_code"))))
        .mapToLong(LongPointData::getValue)
        .sum();
    assertEquals(1, denied);
  }
}
