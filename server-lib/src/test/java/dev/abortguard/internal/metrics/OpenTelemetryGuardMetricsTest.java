package dev.abortguard.internal.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.internal.metrics.GuardMetrics.Mitigation;
import dev.abortguard.internal.metrics.GuardMetrics.Peer;
import dev.abortguard.internal.metrics.GuardMetrics.Problem;
import dev.abortguard.internal.metrics.GuardMetrics.Response;
import dev.abortguard.testing.OpenTelemetryReader;
import dev.abortguard.testing.TestServers;
import io.grpc.Status;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.data.MetricDataType;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The OpenTelemetry binding: instrument names, kinds, units and attributes, read by the SDK's in-memory reader. */
class OpenTelemetryGuardMetricsTest {
  private final OpenTelemetryReader otel = new OpenTelemetryReader();
  private final GuardMetrics metrics = GuardMetrics.of(null, otel.sdk(), dev.abortguard.AbortGuardConfig.from(name -> null));

  @AfterEach
  void close() {
    otel.close();
  }

  @Test
  void instrumentsHaveTheMicrometerNamesWithOpenTelemetryUnits() {
    Map<String, MetricData> byName = otel.collect().stream().collect(Collectors.toMap(MetricData::getName, m -> m));
    assertEquals("{stream}", byName.get("grpc.server.streams.released").getUnit());
    assertEquals("{stream}", byName.get("grpc.server.streams.lingering").getUnit());
    assertEquals("{call}", byName.get("grpc.server.aborts.mitigated").getUnit());
    assertEquals("{problem}", byName.get("abortguard.misconfigured").getUnit());
    assertEquals(MetricDataType.LONG_SUM, byName.get("grpc.server.streams.lingering").getType());
    assertEquals(false, byName.get("grpc.server.streams.lingering").getLongSumData().isMonotonic(),
        "lingering goes down too: an up-down counter");
  }

  @Test
  void seriesNotTiedToACallReadZeroFromTheStart() {
    for (ReleaseCause cause : ReleaseCause.values()) {
      assertEquals(1, otel.metric("grpc.server.streams.released").getLongSumData().getPoints().stream()
          .filter(p -> cause.tagValue().equals(p.getAttributes().get(AttributeKey.stringKey("abortguard.cause"))))
          .count(), cause.tagValue());
    }
    assertEquals(0, otel.sum("grpc.server.streams.released"));
    assertEquals(Problem.values().length,
        otel.metric("abortguard.misconfigured").getLongSumData().getPoints().size());
    assertEquals(Mitigation.values().length,
        otel.metric("grpc.server.aborts.mitigated").getLongSumData().getPoints().size());
  }

  @Test
  void anAbortCarriesOpenTelemetrysRpcAttributes() {
    metrics.onAbort(TestServers.BIDI, Status.Code.PERMISSION_DENIED, Peer.STREAMING, Response.TRAILERS_ONLY);
    metrics.onAbort(TestServers.BIDI, Status.Code.PERMISSION_DENIED, Peer.STREAMING, Response.TRAILERS_ONLY);
    metrics.onMitigated(TestServers.BIDI, Status.Code.PERMISSION_DENIED, Mitigation.RESET_WITHHELD);

    MetricData aborts = otel.metric("grpc.server.aborts");
    assertNotNull(aborts);
    assertEquals("{call}", aborts.getUnit());
    Attributes attributes = aborts.getLongSumData().getPoints().iterator().next().getAttributes();
    assertEquals("grpc", attributes.get(AttributeKey.stringKey("rpc.system")));
    assertEquals("test.Echo", attributes.get(AttributeKey.stringKey("rpc.service")));
    assertEquals("Bidi", attributes.get(AttributeKey.stringKey("rpc.method")));
    assertEquals(7L, attributes.get(AttributeKey.longKey("rpc.grpc.status_code")));
    assertEquals("BIDI_STREAMING", attributes.get(AttributeKey.stringKey("abortguard.method_type")));
    assertEquals("streaming", attributes.get(AttributeKey.stringKey("abortguard.peer")));
    assertEquals("trailers_only", attributes.get(AttributeKey.stringKey("abortguard.response")));
    assertEquals(2, otel.sum("grpc.server.aborts"));
    assertEquals(1, otel.sum("grpc.server.aborts.mitigated",
        a -> "reset_withheld".equals(a.get(AttributeKey.stringKey("abortguard.mitigation")))
            && "Bidi".equals(a.get(AttributeKey.stringKey("rpc.method")))));
  }

  @Test
  void lingeringAndReleasesAndTheirDuration() {
    metrics.onLingering();
    metrics.onLingering();
    assertEquals(2, otel.sum("grpc.server.streams.lingering"));
    metrics.onReleased(ReleaseCause.GRACE_EXPIRED, TimeUnit.MILLISECONDS.toNanos(1500));
    assertEquals(1, otel.sum("grpc.server.streams.lingering"));
    assertEquals(1, otel.sum("grpc.server.streams.released",
        a -> "grace_expired".equals(a.get(AttributeKey.stringKey("abortguard.cause")))));
    MetricData duration = otel.metric("grpc.server.streams.linger.duration");
    assertEquals("s", duration.getUnit());
    assertEquals(1.5, duration.getHistogramData().getPoints().iterator().next().getSum(), 1e-9);
  }

  @Test
  void theLimitsAndThePolicyAreGauges() {
    assertEquals(1, otel.sum("abortguard.info",
        a -> "deferred".equals(a.get(AttributeKey.stringKey("abortguard.reset")))));
    assertEquals(1024, otel.sum("abortguard.config.lingering.max"));
    assertEquals(10_000, otel.sum("abortguard.config.lingering.max.server"));
    assertEquals("s", otel.metric("abortguard.config.reset.grace").getUnit());
    assertEquals(10.0, otel.metric("abortguard.config.reset.grace").getDoubleGaugeData().getPoints().iterator().next()
        .getValue(), 1e-9);
  }

  @Test
  void misconfigurationsByProblem() {
    metrics.onMisconfigured(Problem.CALL_LAYER_MISSING);
    assertEquals(1, otel.sum("abortguard.misconfigured",
        a -> "call_layer_missing".equals(a.get(AttributeKey.stringKey("abortguard.problem")))));
  }

  @Test
  void withNeitherSinkTheGuardSaysSoOnce() {
    java.util.List<java.util.logging.LogRecord> said = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Handler handler = new java.util.logging.Handler() {
      @Override
      public void publish(java.util.logging.LogRecord record) {
        if (record.getMessage().contains("records no meters")) {
          said.add(record);
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    java.util.logging.Logger logger = java.util.logging.Logger.getLogger("dev.abortguard");
    boolean saidBefore = MetricsSinks.saidNone.get();
    logger.addHandler(handler);
    try {
      assertEquals(GuardMetrics.NONE, GuardMetrics.of(null, null, dev.abortguard.AbortGuardConfig.from(name -> null)));
      assertEquals(GuardMetrics.NONE, GuardMetrics.of(null, null, dev.abortguard.AbortGuardConfig.from(name -> null)));
    } finally {
      logger.removeHandler(handler);
    }
    assertEquals(1, said.size() + (saidBefore ? 1 : 0), "said once in this JVM: " + said);
  }
}
