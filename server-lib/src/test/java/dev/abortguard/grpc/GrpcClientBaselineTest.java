package dev.abortguard.grpc;

import dev.abortguard.testing.Await;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.TestServers;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What a real grpc-java client sees, against the stock server and the guarded server under each
 * policy: the guard must not change any status, description or answer, and a grpc-java client
 * ends the streams an abort leaves half-open itself.
 */
@ExtendWith(LeakDetectionExtension.class)
class GrpcClientBaselineTest {
  static final Duration WAIT = Duration.ofSeconds(5);
  /** Long enough that a grace expiry cannot be mistaken for the client's own reset. */
  static final Duration GRACE = Duration.ofSeconds(30);

  /** The server under test: grpc-java as it comes, or guarded under one policy. */
  enum Server {
    STOCK(b -> b.enabled(false)),
    DEFERRED(b -> b.reset(ResetPolicy.DEFERRED).resetGrace(GRACE)),
    NEVER(b -> b.reset(ResetPolicy.NEVER)),
    IMMEDIATE(b -> b.reset(ResetPolicy.IMMEDIATE));

    final UnaryOperator<AbortGuard.Builder> options;

    Server(UnaryOperator<AbortGuard.Builder> options) {
      this.options = options;
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Server.class)
  void abortedBidiWhileTheClientKeepsSending(Server kind) throws Exception {
    try (GuardedTestServer server = GuardedTestServer.start(kind.options);
        ClientFrames clientFrames = ClientFrames.capture(server.port())) {
      ManagedChannel channel = channel(server);
      try {
        CompletableFuture<Throwable> closed = new CompletableFuture<>();
        StreamObserver<byte[]> requests = ClientCalls.asyncBidiStreamingCall(
            aborting(channel, "PERMISSION_DENIED").newCall(TestServers.BIDI, CallOptions.DEFAULT),
            new StreamObserver<>() {
              @Override
              public void onNext(byte[] response) {
                closed.completeExceptionally(new AssertionError("unexpected response"));
              }

              @Override
              public void onError(Throwable t) {
                closed.complete(t);
              }

              @Override
              public void onCompleted() {
                closed.completeExceptionally(new AssertionError("completed OK"));
              }
            });
        for (int i = 0; i < 3; i++) {
          requests.onNext(("before " + i).getBytes(UTF_8));
        }
        Status status = Status.fromThrowable(closed.get(WAIT.toMillis(), TimeUnit.MILLISECONDS));
        // The call is over, but nothing told the application to stop: it keeps sending.
        for (int i = 0; i < 3; i++) {
          requests.onNext(("after " + i).getBytes(UTF_8));
        }
        assertEquals(Status.Code.PERMISSION_DENIED, status.getCode(), status.toString());
        assertEquals(TestServers.ABORT_DESCRIPTION, status.getDescription());

        // A unary call on the same connection still works after all that.
        assertArrayEquals("ping".getBytes(UTF_8), ClientCalls.blockingUnaryCall(
            channel, TestServers.UNARY, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS),
            "ping".getBytes(UTF_8)));

        // Every server: the client answers trailers that end a stream it is still sending on with
        // RST_STREAM(CANCEL). Under immediate it does so even though the server's RST(NO_ERROR)
        // came in the same read and the stream is already closed.
        clientFrames.assertOneCancelAfterTrailers(TestServers.path(TestServers.BIDI));

        if (kind == Server.STOCK) {
          assertTrue(server.registry.getMeters().isEmpty(), "a disabled guard records nothing");
          return;
        }
        assertEquals(1, server.abortsReaching(1, "service", TestServers.SERVICE, "method", "Bidi", "methodType", "BIDI_STREAMING",
            "statusCode", "PERMISSION_DENIED", "peer", "streaming", "response", "trailers_only"),
            "grpc.server.aborts");
        assertEquals(kind == Server.DEFERRED ? 1 : 0, server.mitigated("mitigation", "reset_withheld"));
        assertEquals(0, server.mitigated("mitigation", "trailers_only"), "no eager headers to hold back");
        ReleaseCause cause = kind == Server.IMMEDIATE ? ReleaseCause.IMMEDIATE : ReleaseCause.PEER_RESET;
        Await.until("released{cause=" + cause.tagValue() + "} = 1",
            () -> server.released(cause) == 1, WAIT);
        Await.until("lingering = 0", () -> server.lingering() == 0, WAIT);
        // Under immediate the client's late CANCEL hits a closed stream: released once, not twice.
        assertEquals(1, server.releasedTotal(), "released, all causes");
      } finally {
        shutdown(channel);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Server.class)
  void abortedUnary(Server kind) throws Exception {
    try (GuardedTestServer server = GuardedTestServer.start(kind.options)) {
      ManagedChannel channel = channel(server);
      try {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ClientCalls.blockingUnaryCall(
            aborting(channel, "PERMISSION_DENIED"), TestServers.UNARY,
            CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "request".getBytes(UTF_8)));
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode(), e.getStatus().toString());
        assertEquals(TestServers.ABORT_DESCRIPTION, e.getStatus().getDescription());
        if (kind != Server.STOCK) {
          assertEquals(1, server.abortsReaching(1, "method", "Unary", "peer", "half_closed", "response", "trailers_only"));
          assertEquals(0, server.mitigated(), "nothing to mitigate: no eager headers, no streaming peer");
          Await.until("lingering = 0", () -> server.lingering() == 0, WAIT);
        }
      } finally {
        shutdown(channel);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Server.class)
  void normalUnaryEcho(Server kind) throws Exception {
    try (GuardedTestServer server = GuardedTestServer.start(kind.options)) {
      ManagedChannel channel = channel(server);
      try {
        byte[] request = "hello".getBytes(UTF_8);
        assertArrayEquals(request, ClientCalls.blockingUnaryCall(
            channel, TestServers.UNARY, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), request));
        assertEquals(0, server.aborts());
        assertEquals(0, server.releasedTotal());
        assertEquals(0, server.lingering());
      } finally {
        shutdown(channel);
      }
    }
  }

  static ManagedChannel channel(GuardedTestServer server) {
    return NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
  }

  static Channel aborting(Channel channel, String code) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of(TestServers.ABORT_HEADER, Metadata.ASCII_STRING_MARSHALLER), code);
    return ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  static void shutdown(ManagedChannel channel) throws InterruptedException {
    channel.shutdownNow();
    if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
      fail("channel did not terminate within 5 s");
    }
  }

  /**
   * The frames grpc-java's client logs through its Netty frame logger ({@code
   * io.grpc.netty.NettyClientHandler} at FINE), for connections to one port.
   */
  static final class ClientFrames extends Handler implements AutoCloseable {
    private final Logger logger = Logger.getLogger("io.grpc.netty.NettyClientHandler");
    private final Level previousLevel = logger.getLevel();
    private final String remote;
    private final List<String> messages = new CopyOnWriteArrayList<>();

    private ClientFrames(int port) {
      this.remote = "R:/127.0.0.1:" + port;
    }

    static ClientFrames capture(int port) {
      ClientFrames frames = new ClientFrames(port);
      frames.setLevel(Level.ALL);
      frames.logger.addHandler(frames);
      frames.logger.setLevel(Level.FINE);
      return frames;
    }

    /**
     * Waits (bounded) for the client's RST_STREAM on the first stream it opened for {@code path}
     * and asserts it is the only one on that stream, carries CANCEL, and follows the trailers.
     */
    void assertOneCancelAfterTrailers(String path) {
      Await.until("the client's RST_STREAM", () -> lines().stream()
          .anyMatch(m -> m.contains("OUTBOUND RST_STREAM")), WAIT);
      List<String> lines = lines();
      String stream = lines.stream()
          .filter(m -> m.contains("OUTBOUND HEADERS:") && m.contains(":path: " + path + ","))
          .map(m -> m.replaceAll(".*OUTBOUND HEADERS: streamId=(\\d+) .*", "$1"))
          .findFirst()
          .orElseThrow(() -> new AssertionError("no request HEADERS for " + path + ": " + lines));
      int trailers = indexOf(lines, m -> m.contains("INBOUND HEADERS: streamId=" + stream + " ")
          && m.contains("endStream=true"));
      List<Integer> resets = new java.util.ArrayList<>();
      for (int i = 0; i < lines.size(); i++) {
        if (lines.get(i).contains("OUTBOUND RST_STREAM: streamId=" + stream + " ")) {
          resets.add(i);
        }
      }
      String all = String.join("\n", lines);
      assertEquals(1, resets.size(), "the client's resets of stream " + stream + "\n" + all);
      assertTrue(lines.get(resets.get(0)).endsWith("errorCode=8"), "CANCEL\n" + all);
      assertTrue(trailers >= 0 && trailers < resets.get(0), "the reset follows the trailers\n" + all);
    }

    private static int indexOf(List<String> lines, java.util.function.Predicate<String> match) {
      for (int i = 0; i < lines.size(); i++) {
        if (match.test(lines.get(i))) {
          return i;
        }
      }
      return -1;
    }

    /** The logged frames, DATA payload dumps shortened to their first line. */
    List<String> lines() {
      return messages.stream().map(m -> m.lines().findFirst().orElse("")).collect(Collectors.toList());
    }

    @Override
    public void publish(LogRecord record) {
      String message = record.getMessage();
      if (message != null && message.contains(remote)) {
        messages.add(message);
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {
      logger.removeHandler(this);
      logger.setLevel(previousLevel);
    }
  }
}
