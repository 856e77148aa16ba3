package dev.abortguard.sample.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.sample.DemoAbortInterceptor;
import dev.abortguard.sample.e2e.ProxiedServer.Policy;
import dev.abortguard.sample.e2e.SampleServerProcess.Scrape;
import dev.abortguard.sample.proto.DemoRequest;
import dev.abortguard.sample.proto.DemoResponse;
import dev.abortguard.sample.proto.DemoServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A grpc-java client (Netty, plaintext) through HAProxy: aborted Bidi calls while the client is
 * still sending, one channel for all of them.
 */
class GrpcJavaClientIT {
  private static final int CALLS = 200;
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);
  private static final String REAL_STATUS = "PERMISSION_DENIED: " + DemoAbortInterceptor.DESCRIPTION;

  @RegisterExtension final LogsOnFailure logs = new LogsOnFailure();
  @TempDir Path dir;

  @BeforeEach
  void requireTools() {
    E2eTools.requireProxyTools();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = Policy.class, names = {"DEFERRED", "IMMEDIATE"})
  void abortedBidiWhileSending(Policy policy) throws Exception {
    try (ProxiedServer proxied = ProxiedServer.start(policy, dir.resolve(policy.name()))) {
      proxied.markLog();
      logs.watch(proxied::describeSinceMark);
      Scrape before = proxied.server().metrics();
      Map<String, Integer> outcomes = new TreeMap<>();
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", proxied.haproxy().port())
          .usePlaintext()
          .build();
      ScheduledExecutorService sender = Executors.newSingleThreadScheduledExecutor();
      int sent = 0;
      try {
        Metadata abort = new Metadata();
        abort.put(DemoAbortInterceptor.ABORT, "PERMISSION_DENIED");
        DemoServiceGrpc.DemoServiceStub stub = DemoServiceGrpc.newStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(abort));
        for (int i = 0; i < CALLS; i++) {
          AtomicInteger messages = new AtomicInteger();
          Status status = abortedBidi(stub, sender, messages);
          sent += messages.get();
          outcomes.merge(status.getCode() + ": " + status.getDescription(), 1, Integer::sum);
        }
      } finally {
        sender.shutdownNow();
        channel.shutdownNow().awaitTermination(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        sender.awaitTermination(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      }
      System.out.println("| " + policy + " | grpc-java bidi keeps-sending | HAPROXY | " + outcomes + " | "
          + sent + " messages sent |");
      assertTrue(sent >= CALLS, "each call should have sent at least one message, sent " + sent);

      // Measured: the real status every time under deferred, and under immediate too: grpc-java
      // handles the trailers before it reads the RST_STREAM(CANCEL) that HAProxy sends after them.
      assertEquals(Map.of(REAL_STATUS, CALLS), outcomes, policy + ": " + outcomes);

      Scrape after = proxied.awaitMetrics(
          s -> s.value(PolicyMatrix.LINGERING) == 0 && s.sum(PolicyMatrix.RELEASED) - before.sum(PolicyMatrix.RELEASED) >= CALLS,
          ProxiedServer.DRAIN_TIMEOUT);
      assertEquals(0.0, after.value(PolicyMatrix.LINGERING), after.guardLines());
      assertEquals(CALLS, after.sum(PolicyMatrix.RELEASED) - before.sum(PolicyMatrix.RELEASED), 0.0, after.guardLines());
    }
  }

  /** One Bidi call that sends a message every millisecond until the server ends it. */
  private static Status abortedBidi(
      DemoServiceGrpc.DemoServiceStub stub, ScheduledExecutorService sender, AtomicInteger messages)
      throws Exception {
    CompletableFuture<Status> ended = new CompletableFuture<>();
    StreamObserver<DemoRequest> requests = stub
        .withDeadlineAfter(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .bidi(new StreamObserver<DemoResponse>() {
          @Override
          public void onNext(DemoResponse value) {}

          @Override
          public void onError(Throwable t) {
            ended.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            ended.complete(Status.OK);
          }
        });
    // Only the sender thread touches the request observer.
    ScheduledFuture<?> sending = sender.scheduleAtFixedRate(() -> {
      if (!ended.isDone()) {
        requests.onNext(DemoRequest.newBuilder().setText("m" + messages.get()).build());
        messages.incrementAndGet();
      }
    }, 0, 1, TimeUnit.MILLISECONDS);
    try {
      return ended.get(CALL_TIMEOUT.toMillis() + 5000, TimeUnit.MILLISECONDS);
    } finally {
      sending.cancel(false);
    }
  }
}
