package dev.abortguard.sample;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.abortguard.sample.proto.DemoRequest;
import dev.abortguard.sample.proto.DemoResponse;
import dev.abortguard.sample.proto.DemoServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Drives an in-process {@link SampleServer} over real sockets with a grpc-java client, once per
 * transport that serves the whole demo service through grpc-java's server API: {@code grpc}
 * (Netty) and {@code okhttp}; and on {@code vertx} (a Vert.x GrpcServer serving the same demo
 * service, without health and reflection, whose tests it skips).
 */
@ParameterizedClass(name = "{0}")
@EnumSource(value = Options.Transport.class, names = {"GRPC", "OKHTTP", "VERTX"})
class SampleServerTest {
  private static SampleServer server;
  private static ManagedChannel channel;
  private static DemoServiceGrpc.DemoServiceBlockingStub blocking;

  @Parameter Options.Transport transport;

  @BeforeParameterizedClassInvocation
  static void start(Options.Transport transport) throws IOException {
    // Guard settings are the defaults, whatever the JVM's system properties say.
    server = SampleServer.start(
        options(transport).withMetricsPort(0).withGuardProperties(name -> null));
    channel = DemoCalls.channel(server.port());
    blocking = DemoServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  @AfterParameterizedClassInvocation
  static void stop() throws InterruptedException {
    try {
      DemoCalls.shutdown(channel);
    } finally {
      if (server != null) {
        server.close();
        server = null;
      }
    }
  }

  /** A free port on 127.0.0.1, served by {@code transport}. */
  private static Options options(Options.Transport transport) {
    return Options.defaults().withPort(0).withTransport(transport);
  }

  /** How the start-up line begins: the default transport's names none, the others name themselves. */
  private String startupPrefix() {
    return "abortguard sample server "
        + (transport == Options.Transport.GRPC ? "" : "(" + transport.flagValue() + ") ") + "listening on ";
  }

  @Test
  void unaryEchoes() {
    DemoRequest request =
        DemoRequest.newBuilder().setText("ping").setPayload(ByteString.copyFromUtf8("abc")).build();
    DemoResponse response = blocking.unary(request);
    assertEquals("ping", response.getText());
    assertEquals(ByteString.copyFromUtf8("abc"), response.getPayload());
  }

  @Test
  void serverStreamEchoesThreeTimes() {
    List<DemoResponse> responses = new ArrayList<>();
    blocking.serverStream(DemoCalls.request("x")).forEachRemaining(responses::add);
    assertEquals(3, responses.size());
    responses.forEach(r -> assertEquals("x", r.getText()));
  }

  @Test
  void clientStreamJoinsTextsAndConcatenatesPayloads() throws InterruptedException {
    DemoCalls.Outcome outcome = new DemoCalls.Outcome();
    StreamObserver<DemoRequest> requests = DemoServiceGrpc.newStub(channel)
        .withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .clientStream(outcome);
    requests.onNext(DemoRequest.newBuilder().setText("a").setPayload(ByteString.copyFrom(new byte[3])).build());
    requests.onNext(DemoRequest.newBuilder().setText("b").setPayload(ByteString.copyFrom(new byte[4])).build());
    requests.onCompleted();
    assertEquals(Status.Code.OK, outcome.await().getCode());
    assertEquals(1, outcome.responses.size());
    assertEquals("a,b", outcome.responses.get(0).getText());
    assertEquals(7, outcome.responses.get(0).getPayload().size());
  }

  @Test
  void bidiEchoesEachMessage() throws InterruptedException {
    DemoCalls.Outcome outcome = new DemoCalls.Outcome();
    StreamObserver<DemoRequest> requests = DemoServiceGrpc.newStub(channel)
        .withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .bidi(outcome);
    requests.onNext(DemoCalls.request("one"));
    requests.onNext(DemoCalls.request("two"));
    requests.onCompleted();
    assertEquals(Status.Code.OK, outcome.await().getCode());
    assertEquals(
        List.of("one", "two"),
        outcome.responses.stream().map(DemoResponse::getText).collect(Collectors.toList()));
  }

  @Test
  void abortsBidiCallWithRequestedStatus() throws InterruptedException {
    Status status = DemoCalls.bidiStillStreaming(channel, DemoCalls.abortWith("PERMISSION_DENIED")).await();
    assertEquals(Status.Code.PERMISSION_DENIED, status.getCode());
    assertEquals("aborted by demo server", status.getDescription());
  }

  @Test
  void abortsAfterEagerHeadersWithRequestedStatus() throws InterruptedException {
    Metadata headers = DemoCalls.abortWith("resource_exhausted");
    headers.put(DemoAbortInterceptor.HEADERS_FIRST, "true");
    Status status = DemoCalls.bidiStillStreaming(channel, headers).await();
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode());
    assertEquals("aborted by demo server", status.getDescription());
  }

  @Test
  void abortsUnaryCallBeforeTheServiceRuns() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> blocking
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(DemoCalls.abortWith("UNAUTHENTICATED")))
        .unary(DemoCalls.request("x")));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
  }

  @Test
  void unknownCodeNameIsInvalidArgument() throws InterruptedException {
    Status status = DemoCalls.bidiStillStreaming(channel, DemoCalls.abortWith("NOT_A_CODE")).await();
    assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode());
    assertTrue(status.getDescription().contains("'NOT_A_CODE'"), status.getDescription());
  }

  @Test
  void badHeadersFirstValueIsInvalidArgument() throws InterruptedException {
    Metadata headers = DemoCalls.abortWith("PERMISSION_DENIED");
    headers.put(DemoAbortInterceptor.HEADERS_FIRST, "yes");
    Status status = DemoCalls.bidiStillStreaming(channel, headers).await();
    assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode());
    assertTrue(status.getDescription().contains("'yes'"), status.getDescription());
  }

  @Test
  void healthCheckSaysServing() {
    org.junit.jupiter.api.Assumptions.assumeTrue(transport != Options.Transport.VERTX,
        "the vertx transport serves no health service (grpc-java's)");
    HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel)
        .withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    assertEquals(ServingStatus.SERVING, health.check(HealthCheckRequest.getDefaultInstance()).getStatus());
    assertEquals(
        ServingStatus.SERVING,
        health.check(HealthCheckRequest.newBuilder().setService(DemoServiceGrpc.SERVICE_NAME).build()).getStatus());
  }

  @Test
  void reflectionListsTheDemoService() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(transport != Options.Transport.VERTX,
        "the vertx transport serves no reflection service (grpc-java's)");
    CompletableFuture<ServerReflectionResponse> reply = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
        .withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .serverReflectionInfo(new StreamObserver<ServerReflectionResponse>() {
          @Override
          public void onNext(ServerReflectionResponse response) {
            reply.complete(response);
          }

          @Override
          public void onError(Throwable t) {
            reply.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            reply.completeExceptionally(new AssertionError("no reply"));
          }
        });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    requests.onCompleted();
    List<String> services = reply.get(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .getListServicesResponse().getServiceList().stream()
        .map(ServiceResponse::getName)
        .collect(Collectors.toList());
    assertTrue(services.contains("abortguard.demo.v1.DemoService"), services.toString());
  }

  @Test
  void metricsEndpointCountsAborts() throws Exception {
    Status status = DemoCalls.bidiStillStreaming(channel, DemoCalls.abortWith("PERMISSION_DENIED")).await();
    assertEquals(Status.Code.PERMISSION_DENIED, status.getCode());

    HttpResponse<String> response = scrape("/metrics");
    assertEquals(200, response.statusCode());
    assertEquals(
        "text/plain; version=0.0.4; charset=utf-8",
        response.headers().firstValue("Content-Type").orElse(""));
    String body = response.body();
    assertTrue(
        body.lines().anyMatch(line -> line.startsWith("grpc_server_aborts_total{")
            && line.contains("statusCode=\"PERMISSION_DENIED\"")),
        "no grpc_server_aborts_total with statusCode=\"PERMISSION_DENIED\" in:\n" + body);
    // Micrometer's own gRPC binder (a grpc-java interceptor: not on vertx) and the JVM binders sit
    // beside the guard's meters.
    assertTrue(transport == Options.Transport.VERTX || body.contains("grpc_server_processing_duration_seconds"), body);
    assertTrue(body.contains("jvm_memory_used_bytes"), body);
  }

  @Test
  void metricsEndpointServesOnlyItsPath() throws Exception {
    assertEquals(404, scrape("/").statusCode());
    assertEquals(404, scrape("/metricsx").statusCode());
  }

  @Test
  void startupLineNamesAddressSettingsAndMetrics() {
    assertEquals(
        startupPrefix() + "127.0.0.1:" + server.port()
            + " (reset=deferred grace=10s lingering.max=1024 trailersOnly=true;"
            + " metrics on http://127.0.0.1:" + server.metricsPort() + "/metrics)",
        server.startupLine());
    assertEquals(transport, server.transport());
  }

  @Test
  void startupLineSaysWhenTheGuardIsDisabled() throws Exception {
    Map<String, String> properties = Map.of("abortguard.enabled", "false");
    try (SampleServer disabled = SampleServer.start(options(transport).withGuardProperties(properties::get))) {
      assertEquals(startupPrefix() + "127.0.0.1:" + disabled.port() + " (abortguard disabled)",
          disabled.startupLine());
      assertEquals(Options.NO_METRICS, disabled.metricsPort());
      // The stock server serves the same calls.
      ManagedChannel stock = DemoCalls.channel(disabled.port());
      try {
        Status status = DemoCalls.bidiStillStreaming(stock, DemoCalls.abortWith("PERMISSION_DENIED")).await();
        assertEquals(Status.Code.PERMISSION_DENIED, status.getCode());
      } finally {
        DemoCalls.shutdown(stock);
      }
    }
  }

  @Test
  void startupLineShowsConfiguredSettings() throws IOException {
    Map<String, String> properties =
        Map.of("abortguard.reset", "immediate", "abortguard.reset.grace", "250ms", "abortguard.lingering.max", "8");
    try (SampleServer custom = SampleServer.start(options(transport).withGuardProperties(properties::get))) {
      assertTrue(
          custom.startupLine().endsWith("(reset=immediate grace=250ms lingering.max=8 trailersOnly=true)"),
          custom.startupLine());
    }
  }

  @Test
  void badGuardSettingFailsStart() {
    Map<String, String> properties = Map.of("abortguard.reset", "sometimes");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SampleServer.start(options(transport).withGuardProperties(properties::get)));
    assertTrue(e.getMessage().contains("abortguard.reset"), e.getMessage());
  }

  /**
   * {@code --max-concurrent-streams} reaches the wire as SETTINGS_MAX_CONCURRENT_STREAMS (grpc-java's
   * {@code maxConcurrentCallsPerConnection} on both transports): with 1, a second call on the same
   * connection waits in the client until the first ends.
   */
  @Test
  void maxConcurrentStreamsLimitsCallsPerConnection() throws Exception {
    try (SampleServer limited = SampleServer.start(
        options(transport).withMaxConcurrentStreams(1).withGuardProperties(name -> null))) {
      ManagedChannel limitedChannel = DemoCalls.channel(limited.port());
      try {
        DemoServiceGrpc.DemoServiceBlockingStub limitedStub = DemoServiceGrpc.newBlockingStub(limitedChannel);
        // One call first, so the client has the server's SETTINGS before the slot is taken.
        assertEquals("warm", limitedStub.withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
            .unary(DemoCalls.request("warm")).getText());
        DemoCalls.Outcome first = new DemoCalls.Outcome();
        StreamObserver<DemoRequest> firstRequests = DemoServiceGrpc.newStub(limitedChannel)
            .withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
            .bidi(first);
        firstRequests.onNext(DemoCalls.request("holds the slot"));
        StatusRuntimeException queued = assertThrows(StatusRuntimeException.class,
            () -> limitedStub.withDeadlineAfter(500, TimeUnit.MILLISECONDS).unary(DemoCalls.request("waits")));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, queued.getStatus().getCode(), queued.toString());
        firstRequests.onCompleted();
        assertEquals(Status.Code.OK, first.await().getCode());
        assertEquals("now", limitedStub.withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
            .unary(DemoCalls.request("now")).getText());
      } finally {
        DemoCalls.shutdown(limitedChannel);
      }
    }
  }

  /**
   * A reset limit ({@code --max-rst-frames}) on a transport without one fails the start, naming the
   * flag, before anything is bound; {@code grpc} has {@code maxRstFramesPerWindow}.
   */
  @Test
  void maxRstFramesNeedsATransportWithAResetLimit() throws IOException {
    Options options = options(transport).withMaxRstFrames(200, 30).withGuardProperties(name -> null);
    if (transport == Options.Transport.OKHTTP) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SampleServer.start(options));
      assertTrue(e.getMessage().startsWith("--max-rst-frames is not supported with --transport okhttp"),
          e.getMessage());
      return;
    }
    try (SampleServer limited = SampleServer.start(options)) {
      assertEquals(transport, limited.transport());
    }
  }

  private static HttpResponse<String> scrape(String path) throws IOException, InterruptedException {
    HttpClient client = HttpClient.newBuilder().connectTimeout(DemoCalls.TIMEOUT).build();
    HttpRequest request = HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + server.metricsPort() + path))
        .timeout(DemoCalls.TIMEOUT)
        .build();
    return client.send(request, HttpResponse.BodyHandlers.ofString());
  }
}
