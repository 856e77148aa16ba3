package dev.abortguard.internal.metrics;

import dev.abortguard.testing.TestServers;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.internal.metrics.GuardMetrics.Mitigation;
import dev.abortguard.internal.metrics.GuardMetrics.Peer;
import dev.abortguard.internal.metrics.GuardMetrics.Response;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** The Micrometer binding: meter names, types and tags exactly as in DESIGN.md's metrics table. */
class MicrometerGuardMetricsTest {
  private static final String ABORTS = "grpc.server.aborts";
  private static final String MITIGATED = "grpc.server.aborts.mitigated";
  private static final String LINGERING = "grpc.server.streams.lingering";
  private static final String RELEASED = "grpc.server.streams.released";
  private static final String LINGER_DURATION = "grpc.server.streams.linger.duration";
  private static final String INFO = "abortguard.info";
  private static final String LINGERING_MAX = "abortguard.config.lingering.max";
  private static final String LINGERING_MAX_SERVER = "abortguard.config.lingering.max.server";
  private static final String RESET_GRACE = "abortguard.config.reset.grace";
  private static final AbortGuardConfig DEFAULTS = config(Map.of());

  private static final MethodDescriptor.Marshaller<byte[]> BYTES = TestServers.bytesMarshaller();


  private static final MethodDescriptor<byte[], byte[]> CHAT = method(MethodType.BIDI_STREAMING, "demo.Chat/Talk");
  private static final MethodDescriptor<byte[], byte[]> UPLOAD =
      method(MethodType.CLIENT_STREAMING, "demo.v1.Files/Upload");

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final GuardMetrics metrics = GuardMetrics.micrometer(registry, DEFAULTS);

  private static AbortGuardConfig config(Map<String, String> properties) {
    return AbortGuardConfig.from(properties::get);
  }

  private static MethodDescriptor<byte[], byte[]> method(MethodType type, String fullName) {
    return MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(type)
        .setFullMethodName(fullName)
        .setRequestMarshaller(BYTES)
        .setResponseMarshaller(BYTES)
        .build();
  }

  private static Map<String, String> tags(Meter meter) {
    return meter.getId().getTags().stream()
        .collect(Collectors.toMap(Tag::getKey, Tag::getValue, (a, b) -> a, TreeMap::new));
  }

  private double lingeringGauge() {
    return registry.get(LINGERING).gauge().value();
  }

  private double released(ReleaseCause cause) {
    return registry.get(RELEASED).tag("cause", cause.tagValue()).counter().count();
  }

  @Test
  void abortsCounterHasTheDocumentedTags() {
    metrics.onAbort(CHAT, Status.Code.PERMISSION_DENIED, Peer.STREAMING, Response.TRAILERS_ONLY);

    Counter counter = registry.get(ABORTS).counter();
    assertEquals(1.0, counter.count());
    assertEquals(
        Map.of(
            "service", "demo.Chat",
            "method", "Talk",
            "methodType", "BIDI_STREAMING",
            "statusCode", "PERMISSION_DENIED",
            "peer", "streaming",
            "response", "trailers_only"),
        tags(counter));
  }

  @ParameterizedTest
  @CsvSource({
      "STREAMING,   TRAILERS_ONLY,         streaming,   trailers_only",
      "STREAMING,   HEADERS_THEN_TRAILERS, streaming,   headers_then_trailers",
      "HALF_CLOSED, TRAILERS_ONLY,         half_closed, trailers_only",
      "HALF_CLOSED, HEADERS_THEN_TRAILERS, half_closed, headers_then_trailers",
  })
  void abortsPeerAndResponseTagValues(Peer peer, Response response, String peerTag, String responseTag) {
    metrics.onAbort(UPLOAD, Status.Code.INVALID_ARGUMENT, peer, response);

    Counter counter = registry.get(ABORTS).tag("peer", peerTag).tag("response", responseTag).counter();
    assertEquals(1.0, counter.count());
    assertEquals("demo.v1.Files", tags(counter).get("service"));
    assertEquals("Upload", tags(counter).get("method"));
    assertEquals("CLIENT_STREAMING", tags(counter).get("methodType"));
    assertEquals("INVALID_ARGUMENT", tags(counter).get("statusCode"));
  }

  @ParameterizedTest
  @EnumSource(MethodType.class)
  void methodTypeTagIsTheEnumName(MethodType type) {
    if (type == MethodType.UNKNOWN) {
      return; // grpc-java never serves UNKNOWN; the name would still be used as is
    }
    metrics.onAbort(method(type, "demo.Svc/M"), Status.Code.INTERNAL, Peer.HALF_CLOSED, Response.TRAILERS_ONLY);

    assertEquals(type.name(), tags(registry.get(ABORTS).counter()).get("methodType"));
  }

  @Test
  void abortsWithTheSameTagsShareACounterAndOthersGetTheirOwn() {
    metrics.onAbort(CHAT, Status.Code.PERMISSION_DENIED, Peer.STREAMING, Response.TRAILERS_ONLY);
    metrics.onAbort(CHAT, Status.Code.PERMISSION_DENIED, Peer.STREAMING, Response.TRAILERS_ONLY);
    metrics.onAbort(CHAT, Status.Code.UNAUTHENTICATED, Peer.STREAMING, Response.TRAILERS_ONLY);
    metrics.onAbort(UPLOAD, Status.Code.PERMISSION_DENIED, Peer.STREAMING, Response.TRAILERS_ONLY);

    assertEquals(3, registry.get(ABORTS).counters().size());
    assertEquals(2.0, registry.get(ABORTS).tag("method", "Talk").tag("statusCode", "PERMISSION_DENIED")
        .counter().count());
    assertEquals(1.0, registry.get(ABORTS).tag("statusCode", "UNAUTHENTICATED").counter().count());
    assertEquals(1.0, registry.get(ABORTS).tag("method", "Upload").counter().count());
  }

  @Test
  void mitigatedCounterHasTheDocumentedTags() {
    metrics.onMitigated(CHAT, Status.Code.RESOURCE_EXHAUSTED, Mitigation.RESET_WITHHELD);

    Counter counter = registry.get(MITIGATED).tag("method", "Talk").counter();
    assertEquals(1.0, counter.count());
    assertEquals(
        Map.of(
            "service", "demo.Chat",
            "method", "Talk",
            "statusCode", "RESOURCE_EXHAUSTED",
            "mitigation", "reset_withheld"),
        tags(counter));
  }

  @ParameterizedTest
  @CsvSource({"TRAILERS_ONLY, trailers_only", "RESET_WITHHELD, reset_withheld"})
  void mitigationTagValues(Mitigation mitigation, String tag) {
    metrics.onMitigated(UPLOAD, Status.Code.PERMISSION_DENIED, mitigation);
    metrics.onMitigated(UPLOAD, Status.Code.PERMISSION_DENIED, mitigation);

    assertEquals(2.0, registry.get(MITIGATED).tag("method", "Upload").tag("mitigation", tag).counter().count());
  }

  @Test
  void mitigatedCounterIsRegisteredForEveryMitigationUpFrontTiedToNoMethod() {
    registry.get(MITIGATED).counters().forEach(c -> assertEquals(0.0, c.count(), c.getId().toString()));
    Map<String, Map<String, String>> byMitigation = registry.get(MITIGATED).counters().stream()
        .collect(Collectors.toMap(c -> c.getId().getTag("mitigation"), MicrometerGuardMetricsTest::tags));

    assertEquals(
        Map.of(
            "trailers_only", Map.of("service", "", "method", "", "statusCode", "", "mitigation", "trailers_only"),
            "reset_withheld", Map.of("service", "", "method", "", "statusCode", "", "mitigation", "reset_withheld")),
        byMitigation);

    metrics.onMitigated(CHAT, Status.Code.PERMISSION_DENIED, Mitigation.RESET_WITHHELD);
    assertEquals(0.0, registry.get(MITIGATED).tag("method", "").tag("mitigation", "reset_withheld").counter().count(),
        "a call's mitigation is counted under its method only");
  }

  @Test
  void abortsAndMitigationsAreSeparateMeters() {
    metrics.onAbort(CHAT, Status.Code.PERMISSION_DENIED, Peer.STREAMING, Response.TRAILERS_ONLY);
    metrics.onMitigated(CHAT, Status.Code.PERMISSION_DENIED, Mitigation.TRAILERS_ONLY);

    assertEquals(1, registry.get(ABORTS).counters().size());
    assertEquals(1, registry.get(MITIGATED).tag("method", "Talk").counters().size());
  }

  @Test
  void aMethodNameWithoutServiceStillGetsTags() {
    MethodDescriptor<byte[], byte[]> bare = method(MethodType.UNARY, "noservice");

    metrics.onAbort(bare, Status.Code.ABORTED, Peer.HALF_CLOSED, Response.HEADERS_THEN_TRAILERS);

    Map<String, String> tags = tags(registry.get(ABORTS).counter());
    assertEquals("", tags.get("service"));
    assertEquals("noservice", tags.get("method"));
  }

  @Test
  void lingeringGaugeHasNoTagsAndFollowsLingeringAndReleased() {
    Gauge gauge = registry.get(LINGERING).gauge();
    assertEquals(Map.of(), tags(gauge));
    assertEquals(0.0, gauge.value(), "registered up front");

    metrics.onLingering();
    metrics.onLingering();
    metrics.onLingering();
    assertEquals(3.0, gauge.value());

    metrics.onReleased(ReleaseCause.PEER_RESET, 1_000);
    assertEquals(2.0, gauge.value());
  }

  @Test
  void releasedCounterIsRegisteredForEveryCauseUpFront() {
    Set<String> causes = registry.get(RELEASED).counters().stream()
        .map(c -> c.getId().getTag("cause"))
        .collect(Collectors.toSet());

    assertEquals(
        Set.of("peer_end_stream", "peer_reset", "server_reset", "grace_expired", "overflow", "stream_limit", "total_limit",
            "shutdown", "goaway", "connection_error", "connection_closed", "immediate"),
        causes);
    registry.get(RELEASED).counters().forEach(c -> {
      assertEquals(0.0, c.count());
      assertEquals(Set.of("cause"), tags(c).keySet());
    });
  }

  @ParameterizedTest
  @EnumSource(ReleaseCause.class)
  void releasedCountsOnlyItsCause(ReleaseCause cause) {
    metrics.onLingering();
    metrics.onReleased(cause, 5_000);

    for (ReleaseCause other : ReleaseCause.values()) {
      assertEquals(other == cause ? 1.0 : 0.0, released(other), other.tagValue());
    }
  }

  @Test
  void lingerDurationTimerRecordsHowLongStreamsLingered() {
    Timer timer = registry.get(LINGER_DURATION).timer();
    assertEquals(Map.of(), tags(timer));
    assertEquals(0, timer.count());

    metrics.onReleased(ReleaseCause.PEER_END_STREAM, TimeUnit.MILLISECONDS.toNanos(3));
    metrics.onReleased(ReleaseCause.GRACE_EXPIRED, TimeUnit.SECONDS.toNanos(10));
    metrics.onReleased(ReleaseCause.IMMEDIATE, 0);

    assertEquals(3, timer.count());
    assertEquals(10_003.0, timer.totalTime(TimeUnit.MILLISECONDS), 1e-6);
    assertEquals(10_000.0, timer.max(TimeUnit.MILLISECONDS), 1e-6);
  }

  @Test
  void onlyTheDocumentedMetersAreRegistered() {
    metrics.onAbort(CHAT, Status.Code.PERMISSION_DENIED, Peer.STREAMING, Response.TRAILERS_ONLY);
    metrics.onMitigated(CHAT, Status.Code.PERMISSION_DENIED, Mitigation.TRAILERS_ONLY);
    metrics.onLingering();
    metrics.onReleased(ReleaseCause.PEER_END_STREAM, 1);

    Set<String> names = registry.getMeters().stream().map(m -> m.getId().getName()).collect(Collectors.toSet());
    assertEquals(Set.of(ABORTS, MITIGATED, LINGERING, RELEASED, LINGER_DURATION, "abortguard.misconfigured",
        INFO, LINGERING_MAX, LINGERING_MAX_SERVER, RESET_GRACE), names);
    assertEquals(Meter.Type.COUNTER, registry.get(ABORTS).meter().getId().getType());
    assertEquals(Meter.Type.COUNTER, registry.get(MITIGATED).meter().getId().getType());
    assertEquals(Meter.Type.GAUGE, registry.get(LINGERING).meter().getId().getType());
    assertEquals(Meter.Type.COUNTER, registry.get(RELEASED).meters().iterator().next().getId().getType());
    assertEquals(Meter.Type.TIMER, registry.get(LINGER_DURATION).meter().getId().getType());
  }

  @Test
  void twoGuardsOnOneRegistryShareTheLingeringGaugeWhichReadsTheSum() {
    GuardMetrics other = GuardMetrics.micrometer(registry, DEFAULTS);

    metrics.onLingering();
    metrics.onLingering();
    other.onLingering();
    other.onLingering();
    other.onLingering();

    assertEquals(1, registry.get(LINGERING).gauges().size(), "one gauge, not one per guard");
    assertEquals(5.0, lingeringGauge());

    metrics.onReleased(ReleaseCause.PEER_END_STREAM, 10);
    other.onReleased(ReleaseCause.OVERFLOW, 20);
    other.onReleased(ReleaseCause.OVERFLOW, 30);
    assertEquals(2.0, lingeringGauge());

    assertEquals(1.0, released(ReleaseCause.PEER_END_STREAM));
    assertEquals(2.0, released(ReleaseCause.OVERFLOW), "counters are shared too");
    assertEquals(3, registry.get(LINGER_DURATION).timer().count());
    assertEquals(ReleaseCause.values().length, registry.get(RELEASED).counters().size());
  }

  @Test
  void guardsOnDifferentRegistriesDoNotShareTheGauge() {
    SimpleMeterRegistry otherRegistry = new SimpleMeterRegistry();
    GuardMetrics other = GuardMetrics.micrometer(otherRegistry, DEFAULTS);

    metrics.onLingering();
    other.onLingering();
    other.onLingering();

    assertEquals(1.0, lingeringGauge());
    assertEquals(2.0, otherRegistry.get(LINGERING).gauge().value());
  }

  @Test
  void limitsAreGaugesWithTheDefaultsAndNoTags() {
    assertEquals(1024.0, registry.get(LINGERING_MAX).gauge().value());
    assertEquals(10_000.0, registry.get(LINGERING_MAX_SERVER).gauge().value());
    assertEquals(10.0, registry.get(RESET_GRACE).gauge().value());
    assertEquals("seconds", registry.get(RESET_GRACE).gauge().getId().getBaseUnit());
    for (String name : Set.of(LINGERING_MAX, LINGERING_MAX_SERVER, RESET_GRACE)) {
      assertEquals(Map.of(), tags(registry.get(name).gauge()), name);
      assertEquals(Meter.Type.GAUGE, registry.get(name).meter().getId().getType(), name);
    }
  }

  @Test
  void limitsFollowTheConfiguration() {
    SimpleMeterRegistry other = new SimpleMeterRegistry();
    GuardMetrics.micrometer(other, config(Map.of(
        "abortguard.lingering.max", "7", "abortguard.lingering.maxTotal", "70", "abortguard.reset.grace", "250ms")));

    assertEquals(7.0, other.get(LINGERING_MAX).gauge().value());
    assertEquals(70.0, other.get(LINGERING_MAX_SERVER).gauge().value());
    assertEquals(0.25, other.get(RESET_GRACE).gauge().value(), 1e-9);
  }

  @Test
  void infoGaugeReadsOneWithThePolicyAsTags() {
    Gauge info = registry.get(INFO).gauge();
    assertEquals(1.0, info.value());
    assertEquals(Map.of("reset", "deferred", "trailersOnly", "true"), tags(info));
  }

  @ParameterizedTest
  @CsvSource({"never, false", "immediate, true"})
  void infoGaugeNamesEachPolicy(String reset, String trailersOnly) {
    SimpleMeterRegistry other = new SimpleMeterRegistry();
    GuardMetrics.micrometer(other, config(Map.of("abortguard.reset", reset, "abortguard.trailersOnly", trailersOnly)));

    assertEquals(Map.of("reset", reset, "trailersOnly", trailersOnly), tags(other.get(INFO).gauge()));
  }

  @Test
  void twoGuardsOnOneRegistryReadTheLargestBoundAndGraceAndTheSumOfServerWideBounds() {
    GuardMetrics.micrometer(registry, config(Map.of(
        "abortguard.reset", "never", "abortguard.lingering.max", "2048", "abortguard.lingering.maxTotal", "500",
        "abortguard.reset.grace", "2s")));

    assertEquals(2048.0, registry.get(LINGERING_MAX).gauge().value());
    assertEquals(10_500.0, registry.get(LINGERING_MAX_SERVER).gauge().value(), "each guard has its own budget");
    assertEquals(10.0, registry.get(RESET_GRACE).gauge().value());
    assertEquals(1, registry.get(LINGERING_MAX).gauges().size());
    Set<String> policies = registry.get(INFO).gauges().stream()
        .map(g -> g.getId().getTag("reset")).collect(Collectors.toSet());
    assertEquals(Set.of("deferred", "never"), policies, "one info series per policy in use");
    registry.get(INFO).gauges().forEach(g -> assertEquals(1.0, g.value()));
  }

  @Test
  void twoGuardsWithTheSamePolicyShareOneInfoSeries() {
    GuardMetrics.micrometer(registry, DEFAULTS);

    assertEquals(1, registry.get(INFO).gauges().size());
    assertEquals(20_000.0, registry.get(LINGERING_MAX_SERVER).gauge().value());
  }
}
