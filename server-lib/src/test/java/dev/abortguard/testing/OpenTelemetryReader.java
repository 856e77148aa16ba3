package dev.abortguard.testing;

import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.HistogramPointData;
import io.opentelemetry.sdk.metrics.data.LongPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import java.util.Collection;
import java.util.function.Predicate;

/** An OpenTelemetry SDK whose metrics a test reads with the SDK's in-memory reader. */
public final class OpenTelemetryReader implements AutoCloseable {
  private final InMemoryMetricReader reader = InMemoryMetricReader.create();
  private final OpenTelemetrySdk sdk =
      OpenTelemetrySdk.builder().setMeterProvider(SdkMeterProvider.builder().registerMetricReader(reader).build()).build();

  /** The SDK to hand to {@code AbortGuard.builder().openTelemetry(...)}. */
  public OpenTelemetrySdk sdk() {
    return sdk;
  }

  /** Every metric collected now (cumulative). */
  public Collection<MetricData> collect() {
    return reader.collectAllMetrics();
  }

  /** One metric by name, or null. */
  public MetricData metric(String name) {
    return collect().stream().filter(m -> m.getName().equals(name)).findFirst().orElse(null);
  }

  /** The sum of a counter's (or up-down counter's) points whose attributes match; 0 if absent. */
  public long sum(String name, Predicate<Attributes> attributes) {
    MetricData metric = metric(name);
    if (metric == null) {
      return 0;
    }
    Collection<LongPointData> points =
        metric.getType() == io.opentelemetry.sdk.metrics.data.MetricDataType.LONG_SUM
            ? metric.getLongSumData().getPoints()
            : metric.getLongGaugeData().getPoints();
    return points.stream().filter(p -> attributes.test(p.getAttributes())).mapToLong(LongPointData::getValue).sum();
  }

  /** A counter's sum over all its points. */
  public long sum(String name) {
    return sum(name, a -> true);
  }

  /** How many values a histogram recorded; 0 if absent. */
  public long histogramCount(String name) {
    MetricData metric = metric(name);
    return metric == null ? 0
        : metric.getHistogramData().getPoints().stream().mapToLong(HistogramPointData::getCount).sum();
  }

  @Override
  public void close() {
    sdk.close();
  }
}
