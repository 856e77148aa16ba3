package dev.abortguard.sample;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import dev.abortguard.sample.proto.DemoRequest;
import dev.abortguard.sample.proto.DemoResponse;
import dev.abortguard.sample.proto.DemoServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.io.IOException;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Drives an in-process {@link SampleServer} on the {@code frame-codec} transport (plain Netty:
 * {@code Http2FrameCodec}, the guard's handler, {@code Http2MultiplexHandler}) with a grpc-java
 * client over real sockets. Fails if Netty reports a leaked buffer while it runs (the build runs
 * tests with the leak detector at {@code paranoid}).
 */
class FrameCodecTransportTest {
  private static final Duration GRACE = Duration.ofSeconds(2);
  private static final String LINGERING = "grpc.server.streams.lingering";
  private static final String RELEASED = "grpc.server.streams.released";

  private static SampleServer server;
  private static ManagedChannel channel;
  private static LeakLog leaks;

  @BeforeAll
  static void start() throws IOException {
    leaks = LeakLog.install();
    Map<String, String> properties = Map.of("abortguard.reset.grace", SampleServer.format(GRACE));
    server = SampleServer.start(Options.defaults()
        .withPort(0)
        .withMetricsPort(0)
        .withTransport(Options.Transport.FRAME_CODEC)
        .withGuardProperties(properties::get));
    channel = DemoCalls.channel(server.port());
  }

  @AfterAll
  static void stop() throws InterruptedException {
    try {
      DemoCalls.shutdown(channel);
    } finally {
      if (server != null) {
        server.close();
      }
    }
    if (leaks != null) {
      leaks.assertNoLeaks();
    }
  }

  @Test
  void startupLineNamesTheTransport() {
    assertEquals(
        "abortguard sample server (frame-codec) listening on 127.0.0.1:" + server.port()
            + " (reset=deferred grace=2s lingering.max=1024 trailersOnly=true;"
            + " metrics on http://127.0.0.1:" + server.metricsPort() + "/metrics)",
        server.startupLine());
    assertEquals(Options.Transport.FRAME_CODEC, server.transport());
  }

  @Test
  void bidiEchoesEachMessage() throws InterruptedException {
    List<DemoRequest> sent = new ArrayList<>();
    sent.add(DemoCalls.request("one"));
    // An empty message: a prefix with length 0.
    sent.add(DemoRequest.getDefaultInstance());
    // Bigger than a DATA frame (16 KiB by default), so it arrives in pieces.
    sent.add(DemoRequest.newBuilder().setText("big").setPayload(bytes(200_000)).build());
    for (int i = 0; i < 20; i++) {
      sent.add(DemoRequest.newBuilder().setText("m" + i).setPayload(bytes(i * 97)).build());
    }
    DemoCalls.Outcome outcome = new DemoCalls.Outcome();
    StreamObserver<DemoRequest> requests = stub().bidi(outcome);
    sent.forEach(requests::onNext);
    requests.onCompleted();

    assertEquals(Status.Code.OK, outcome.await().getCode());
    assertEquals(sent.stream().map(FrameCodecTransportTest::asResponse).collect(Collectors.toList()),
        outcome.responses);
  }

  @Test
  void bidiWithoutMessagesEndsOk() throws InterruptedException {
    DemoCalls.Outcome outcome = new DemoCalls.Outcome();
    stub().bidi(outcome).onCompleted();
    assertEquals(Status.Code.OK, outcome.await().getCode());
    assertEquals(List.of(), outcome.responses);
  }

  @Test
  void manyConcurrentEchoCallsOnOneConnection() throws InterruptedException {
    List<DemoCalls.Outcome> outcomes = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      DemoCalls.Outcome outcome = new DemoCalls.Outcome();
      StreamObserver<DemoRequest> requests = stub().bidi(outcome);
      requests.onNext(DemoCalls.request("call" + i));
      requests.onCompleted();
      outcomes.add(outcome);
    }
    for (int i = 0; i < outcomes.size(); i++) {
      assertEquals(Status.Code.OK, outcomes.get(i).await().getCode());
      assertEquals(List.of("call" + i), texts(outcomes.get(i)));
    }
  }

  @Test
  void abortedBidiEndsWithTheRequestedStatus() throws Exception {
    double releasedBefore = released();
    Status status = DemoCalls.bidiStillStreaming(channel, DemoCalls.abortWith("permission_denied")).await();
    assertEquals(Status.Code.PERMISSION_DENIED, status.getCode());
    assertEquals(DemoAbortInterceptor.DESCRIPTION, status.getDescription());
    // The client was still sending: the stream was early-closed, its reset withheld, and released
    // when grpc-java reset it on reading the trailers.
    awaitReleased(releasedBefore + 1);
  }

  @Test
  void abortWhileTheClientStreamsReleasesWhatItSends() throws Exception {
    // Messages go out right behind the request headers, so many reach the server after its
    // trailers, on a stream whose child channel is gone: the guard's handler consumes them.
    double releasedBefore = released();
    DemoCalls.Outcome outcome = new DemoCalls.Outcome();
    StreamObserver<DemoRequest> requests = DemoServiceGrpc.newStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(DemoCalls.abortWith("PERMISSION_DENIED")))
        .withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .bidi(outcome);
    for (int i = 0; i < 64; i++) {
      requests.onNext(DemoRequest.newBuilder().setText("m" + i).setPayload(bytes(4096)).build());
    }
    Status status = outcome.await();
    assertEquals(Status.Code.PERMISSION_DENIED, status.getCode());
    awaitReleased(releasedBefore + 1);
    // The connection's flow-control window came back: a big echo still goes through.
    DemoCalls.Outcome echo = new DemoCalls.Outcome();
    StreamObserver<DemoRequest> more = stub().bidi(echo);
    DemoRequest big = DemoRequest.newBuilder().setText("after").setPayload(bytes(1 << 20)).build();
    more.onNext(big);
    more.onCompleted();
    assertEquals(Status.Code.OK, echo.await().getCode());
    assertEquals(List.of(asResponse(big)), echo.responses);
  }

  @Test
  void abortAfterHeadersStillCarriesTheStatus() throws InterruptedException {
    Metadata headers = DemoCalls.abortWith("RESOURCE_EXHAUSTED");
    headers.put(DemoAbortInterceptor.HEADERS_FIRST, "true");
    Status status = DemoCalls.bidiStillStreaming(channel, headers).await();
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode());
    assertEquals(DemoAbortInterceptor.DESCRIPTION, status.getDescription());
  }

  @Test
  void unknownCodeNameIsInvalidArgumentNamingIt() throws InterruptedException {
    Status status = DemoCalls.bidiStillStreaming(channel, DemoCalls.abortWith("NOT_A_CODE")).await();
    assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode());
    assertEquals("x-demo-abort: 'NOT_A_CODE' is not a status code name such as PERMISSION_DENIED",
        status.getDescription());
  }

  @Test
  void otherDemoMethodsAreUnimplemented() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> DemoServiceGrpc.newBlockingStub(channel)
            .withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
            .unary(DemoCalls.request("x")));
    assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
  }

  @Test
  void abortsApplyToEveryDemoMethod() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> DemoServiceGrpc.newBlockingStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(DemoCalls.abortWith("UNAUTHENTICATED")))
            .withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
            .unary(DemoCalls.request("x")));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
  }

  @Test
  void unknownMethodIsUnimplemented() {
    MethodDescriptor<DemoRequest, DemoResponse> unknown = DemoServiceGrpc.getUnaryMethod().toBuilder()
        .setFullMethodName("abortguard.demo.v1.DemoService/NoSuchMethod")
        .build();
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> ClientCalls.blockingUnaryCall(channel, unknown,
            CallOptions.DEFAULT.withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS),
            DemoCalls.request("x")));
    assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
    assertEquals("Method not found: abortguard.demo.v1.DemoService/NoSuchMethod", e.getStatus().getDescription());
  }

  @Test
  void metricsEndpointServesTheGuardsMeters() throws Exception {
    DemoCalls.bidiStillStreaming(channel, DemoCalls.abortWith("PERMISSION_DENIED")).await();
    String body = server.registry().scrape();
    assertTrue(body.contains("grpc_server_streams_released_total{cause=\"peer_reset\"}"), body);
    assertTrue(body.contains("jvm_memory_used_bytes"), body);
  }

  @Test
  void disabledGuardServesTheSameCalls() throws Exception {
    Map<String, String> properties = Map.of("abortguard.enabled", "false");
    try (SampleServer stock = SampleServer.start(Options.defaults()
        .withPort(0)
        .withTransport(Options.Transport.FRAME_CODEC)
        .withGuardProperties(properties::get))) {
      assertEquals("abortguard sample server (frame-codec) listening on 127.0.0.1:" + stock.port()
          + " (abortguard disabled)", stock.startupLine());
      ManagedChannel stockChannel = DemoCalls.channel(stock.port());
      try {
        DemoCalls.Outcome echo = new DemoCalls.Outcome();
        StreamObserver<DemoRequest> requests = DemoServiceGrpc.newStub(stockChannel)
            .withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
            .bidi(echo);
        requests.onNext(DemoCalls.request("stock"));
        requests.onCompleted();
        assertEquals(Status.Code.OK, echo.await().getCode());
        assertEquals(List.of("stock"), texts(echo));

        // Netty sends RST_STREAM(CANCEL) right after the trailers; grpc-java reads the trailers
        // first, so a direct grpc-java client still sees the real status.
        Status status = DemoCalls.bidiStillStreaming(stockChannel, DemoCalls.abortWith("PERMISSION_DENIED")).await();
        assertEquals(Status.Code.PERMISSION_DENIED, status.getCode());
        assertTrue(stock.registry().find(RELEASED).counters().isEmpty(), "a disabled guard registers no meters");
      } finally {
        DemoCalls.shutdown(stockChannel);
      }
    }
  }

  @Test
  void closeStopsListeningPromptly() throws Exception {
    SampleServer other = SampleServer.start(Options.defaults()
        .withPort(0)
        .withTransport(Options.Transport.FRAME_CODEC)
        .withGuardProperties(name -> null));
    int port = other.port();
    ManagedChannel otherChannel = DemoCalls.channel(port);
    try {
      DemoCalls.Outcome echo = new DemoCalls.Outcome();
      StreamObserver<DemoRequest> requests = DemoServiceGrpc.newStub(otherChannel)
          .withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          .bidi(echo);
      requests.onNext(DemoCalls.request("before close"));
      requests.onCompleted();
      assertEquals(Status.Code.OK, echo.await().getCode());

      // An open, idle connection: it gets GOAWAY and closes at once, as nothing is in flight.
      long started = System.nanoTime();
      other.close();
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertTrue(millis < 3000, "close took " + millis + " ms with no call in flight");
      assertTrue(other.awaitTermination(Duration.ZERO));
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        fail("port " + port + " still accepts connections after close");
      } catch (ConnectException expected) {
        // closed
      }
    } finally {
      other.close();
      DemoCalls.shutdown(otherChannel);
    }
  }

  private static DemoServiceGrpc.DemoServiceStub stub() {
    return DemoServiceGrpc.newStub(channel).withDeadlineAfter(DemoCalls.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static ByteString bytes(int size) {
    byte[] bytes = new byte[size];
    for (int i = 0; i < size; i++) {
      bytes[i] = (byte) (i * 31 + 7);
    }
    return ByteString.copyFrom(bytes);
  }

  private static DemoResponse asResponse(DemoRequest request) {
    return DemoResponse.newBuilder().setText(request.getText()).setPayload(request.getPayload()).build();
  }

  private static List<String> texts(DemoCalls.Outcome outcome) {
    return outcome.responses.stream().map(DemoResponse::getText).collect(Collectors.toList());
  }

  private static double released() {
    return server.registry().find(RELEASED).counters().stream().mapToDouble(Counter::count).sum();
  }

  /** Waits (bounded by the grace and a second) until streams were released and none lingers. */
  private static void awaitReleased(double atLeast) throws InterruptedException {
    MeterRegistry registry = server.registry();
    long deadline = System.nanoTime() + GRACE.plusSeconds(1).toNanos();
    while (System.nanoTime() < deadline) {
      Gauge lingering = registry.find(LINGERING).gauge();
      if (released() >= atLeast && lingering != null && lingering.value() == 0) {
        return;
      }
      Thread.sleep(10);
    }
    fail("released " + released() + " (wanted at least " + atLeast + "), lingering "
        + registry.find(LINGERING).gauge().value());
  }


  /**
   * Records Netty's leak reports. sample-server's tests do not get server-lib's leak extension, so
   * this listens to what Netty's leak detector logs (through java.util.logging, as there is no
   * SLF4J here); the build runs tests at {@code -Dio.netty.leakDetection.level=paranoid}.
   */
  static final class LeakLog extends Handler {
    // A strong reference: java.util.logging keeps loggers weakly and would drop the handler.
    private final Logger logger = Logger.getLogger(ResourceLeakDetector.class.getName());
    private final List<String> reports = new CopyOnWriteArrayList<>();

    static LeakLog install() {
      LeakLog log = new LeakLog();
      log.logger.addHandler(log);
      return log;
    }

    @Override
    public void publish(LogRecord record) {
      if (record.getMessage() != null && record.getMessage().contains("LEAK")) {
        reports.add(record.getMessage());
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}

    /** Collects garbage, makes the detector report what it found, and fails on any leak. */
    void assertNoLeaks() {
      try {
        for (int i = 0; i < 3; i++) {
          ReferenceQueue<Object> queue = new ReferenceQueue<>();
          WeakReference<Object> sentinel = new WeakReference<>(new Object(), queue);
          System.gc();
          queue.remove(1000);
          sentinel.clear();
          // The detector reports leaks when it tracks a new buffer.
          for (int j = 0; j < 8; j++) {
            PooledByteBufAllocator.DEFAULT.directBuffer(16).release();
            PooledByteBufAllocator.DEFAULT.heapBuffer(16).release();
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        logger.removeHandler(this);
      }
      if (!reports.isEmpty()) {
        fail(reports.size() + " Netty leak report(s):\n" + String.join("\n\n", reports));
      }
    }
  }
}
