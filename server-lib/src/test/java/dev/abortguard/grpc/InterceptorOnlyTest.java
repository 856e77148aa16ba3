package dev.abortguard.grpc;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.abortguard.AbortGuard;
import dev.abortguard.testing.TestServers;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ServerCalls;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@link AbortGuard#interceptor()} alone, on an in-process server: no HTTP/2, no transport part.
 * An application interceptor inside it sends headers eagerly, then aborts.
 */
class InterceptorOnlyTest {
  static final String SERVICE = "test.InProcess";
  static final MethodDescriptor<byte[], byte[]> BIDI = method("Bidi", MethodType.BIDI_STREAMING);
  static final MethodDescriptor<byte[], byte[]> UNARY = method("Unary", MethodType.UNARY);

  static final String DENIED = "denied after headers";
  static final Metadata.Key<String> HEADERS_FIRST =
      Metadata.Key.of("x-test-headers-first", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> X_EARLY = Metadata.Key.of("x-early", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> X_LATE = Metadata.Key.of("x-late", Metadata.ASCII_STRING_MARSHALLER);

  @Test
  void headersFirstAbortOfAStreamingCallIsTrailersOnly() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (InProcess server = InProcess.start(guard(registry, b -> b))) {
      Outcome outcome = server.call(BIDI, true, false);

      assertEquals(Status.Code.PERMISSION_DENIED, outcome.status.getCode(), outcome.toString());
      assertEquals(DENIED, outcome.status.getDescription(), outcome.toString());
      assertEquals(List.of(), outcome.headers, "trailers-only: onHeaders is not called");
      assertEquals("yes", outcome.trailers.get(X_EARLY), "the held-back headers are merged into the trailers");
      assertEquals("yes", outcome.trailers.get(X_LATE), outcome.toString());

      assertEquals(Map.of(
              "grpc.server.aborts{method=Bidi, methodType=BIDI_STREAMING, peer=streaming, response=trailers_only,"
                  + " service=test.InProcess, statusCode=PERMISSION_DENIED}", 1.0,
              "grpc.server.aborts.mitigated{method=Bidi, mitigation=trailers_only, service=test.InProcess,"
                  + " statusCode=PERMISSION_DENIED}", 1.0),
          abortCounters(registry),
          "no reset_withheld: the transport part is not installed, nothing is withheld");
    }
  }

  @Test
  void headersFirstAbortOfAUnaryCallIsTrailersOnlyFromAHalfClosedPeer() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (InProcess server = InProcess.start(guard(registry, b -> b))) {
      Outcome outcome = server.call(UNARY, true, true);

      assertEquals(Status.Code.PERMISSION_DENIED, outcome.status.getCode(), outcome.toString());
      assertEquals(List.of(), outcome.headers, "trailers-only: onHeaders is not called");
      assertEquals("yes", outcome.trailers.get(X_EARLY), outcome.toString());
      assertEquals("yes", outcome.trailers.get(X_LATE), outcome.toString());
      assertEquals(Map.of(
              "grpc.server.aborts{method=Unary, methodType=UNARY, peer=half_closed, response=trailers_only,"
                  + " service=test.InProcess, statusCode=PERMISSION_DENIED}", 1.0,
              "grpc.server.aborts.mitigated{method=Unary, mitigation=trailers_only, service=test.InProcess,"
                  + " statusCode=PERMISSION_DENIED}", 1.0),
          abortCounters(registry));
    }
  }

  @Test
  void withoutTrailersOnlyTheHeadersArriveFirst() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (InProcess server = InProcess.start(guard(registry, b -> b.trailersOnly(false)))) {
      Outcome outcome = server.call(BIDI, true, false);

      assertEquals(Status.Code.PERMISSION_DENIED, outcome.status.getCode(), outcome.toString());
      assertEquals(1, outcome.headers.size(), outcome.toString());
      assertEquals("yes", outcome.headers.get(0).get(X_EARLY), outcome.toString());
      assertNull(outcome.trailers.get(X_EARLY), outcome.toString());
      assertEquals("yes", outcome.trailers.get(X_LATE), outcome.toString());
      assertEquals(Map.of(
              "grpc.server.aborts{method=Bidi, methodType=BIDI_STREAMING, peer=streaming,"
                  + " response=headers_then_trailers, service=test.InProcess, statusCode=PERMISSION_DENIED}", 1.0),
          abortCounters(registry));
    }
  }

  @Test
  void disabledGuardInterceptorChangesNothing() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (InProcess server = InProcess.start(guard(registry, b -> b.enabled(false)))) {
      Outcome outcome = server.call(BIDI, true, false);

      assertEquals(Status.Code.PERMISSION_DENIED, outcome.status.getCode(), outcome.toString());
      assertEquals(DENIED, outcome.status.getDescription(), outcome.toString());
      assertEquals(1, outcome.headers.size(), "the eager headers arrive as headers\n" + outcome);
      assertEquals("yes", outcome.headers.get(0).get(X_EARLY), outcome.toString());
      assertNull(outcome.trailers.get(X_EARLY), outcome.toString());
      assertEquals("yes", outcome.trailers.get(X_LATE), outcome.toString());
      assertTrue(registry.getMeters().isEmpty(), "a disabled guard records nothing");
    }
  }

  @Test
  void normalCallsPassThrough() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (InProcess server = InProcess.start(guard(registry, b -> b))) {
      Outcome unary = server.call(UNARY, false, true);
      assertEquals(Status.Code.OK, unary.status.getCode(), unary.toString());
      assertEquals(List.of("request"), unary.messages, unary.toString());
      assertEquals(1, unary.headers.size(), unary.toString());

      Outcome bidi = server.call(BIDI, false, true);
      assertEquals(Status.Code.OK, bidi.status.getCode(), bidi.toString());
      assertEquals(List.of("request"), bidi.messages, bidi.toString());
      assertEquals(Map.of(), abortCounters(registry));
    }
  }

  static AbortGuard guard(SimpleMeterRegistry registry, UnaryOperator<AbortGuard.Builder> options) {
    return options.apply(AbortGuard.builder().properties(name -> null).meterRegistry(registry)).build();
  }

  /** Non-zero abort counters as {@code name{sorted tags}} to count. */
  static Map<String, Double> abortCounters(SimpleMeterRegistry registry) {
    Map<String, Double> counters = new TreeMap<>();
    for (String name : List.of("grpc.server.aborts", "grpc.server.aborts.mitigated")) {
      for (Counter counter : registry.find(name).counters()) {
        if (counter.count() != 0) {
          Map<String, String> tags = counter.getId().getTags().stream()
              .collect(Collectors.toMap(Tag::getKey, Tag::getValue, (a, b) -> a, TreeMap::new));
          counters.put(name + tags, counter.count());
        }
      }
    }
    return counters;
  }

  static MethodDescriptor<byte[], byte[]> method(String name, MethodType type) {
    return MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .setRequestMarshaller(TestServers.bytesMarshaller())
        .setResponseMarshaller(TestServers.bytesMarshaller())
        .build();
  }

  /** What the client saw of one call. */
  static final class Outcome {
    final List<Metadata> headers;
    final List<String> messages;
    final Status status;
    final Metadata trailers;

    Outcome(List<Metadata> headers, List<String> messages, Status status, Metadata trailers) {
      this.headers = headers;
      this.messages = messages;
      this.status = status;
      this.trailers = trailers;
    }

    @Override
    public String toString() {
      return "headers=" + headers + " messages=" + messages + " status=" + status + " trailers=" + trailers;
    }
  }

  /** An in-process server: the service, the eager-headers interceptor, the guard's outermost. */
  static final class InProcess implements AutoCloseable {
    final Server server;
    final ManagedChannel channel;

    private InProcess(Server server, ManagedChannel channel) {
      this.server = server;
      this.channel = channel;
    }

    static InProcess start(AbortGuard guard) throws IOException {
      ServerServiceDefinition service = ServerServiceDefinition.builder(SERVICE)
          .addMethod(BIDI, ServerCalls.asyncBidiStreamingCall(TestServers::echo))
          .addMethod(UNARY, ServerCalls.asyncUnaryCall((request, responses) -> {
            responses.onNext(request);
            responses.onCompleted();
          }))
          .build();
      ServerServiceDefinition intercepted = ServerInterceptors.intercept(
          ServerInterceptors.intercept(service, new EagerHeadersInterceptor()), guard.interceptor());
      String name = InProcessServerBuilder.generateName();
      Server server = InProcessServerBuilder.forName(name).directExecutor().addService(intercepted).build().start();
      return new InProcess(server, InProcessChannelBuilder.forName(name).directExecutor().build());
    }

    /**
     * Starts a call, sends one request, half-closes if asked, and waits (bounded) for its close.
     */
    Outcome call(MethodDescriptor<byte[], byte[]> method, boolean headersFirst, boolean halfClose)
        throws Exception {
      List<Metadata> headers = new CopyOnWriteArrayList<>();
      List<String> messages = new CopyOnWriteArrayList<>();
      CompletableFuture<Outcome> closed = new CompletableFuture<>();
      ClientCall<byte[], byte[]> call = channel.newCall(method, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS));
      Metadata request = new Metadata();
      if (headersFirst) {
        request.put(HEADERS_FIRST, "true");
      }
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onHeaders(Metadata h) {
          headers.add(h);
        }

        @Override
        public void onMessage(byte[] message) {
          messages.add(new String(message, UTF_8));
        }

        @Override
        public void onClose(Status status, Metadata trailers) {
          closed.complete(new Outcome(headers, messages, status, trailers));
        }
      }, request);
      call.request(Integer.MAX_VALUE);
      call.sendMessage("request".getBytes(UTF_8));
      if (halfClose) {
        call.halfClose();
      }
      Outcome outcome = closed.get(5, TimeUnit.SECONDS);
      if (!halfClose && outcome.status.isOk()) {
        call.cancel("done", null);
      }
      return outcome;
    }

    @Override
    public void close() throws InterruptedException {
      channel.shutdownNow();
      server.shutdownNow();
      if (!channel.awaitTermination(5, TimeUnit.SECONDS) || !server.awaitTermination(5, TimeUnit.SECONDS)) {
        fail("in-process channel or server did not terminate within 5 s");
      }
    }
  }

  /** Sends {@code x-early: yes} eagerly, then aborts with PERMISSION_DENIED and {@code x-late: yes}. */
  static final class EagerHeadersInterceptor implements ServerInterceptor {
    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
        ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
      if (!"true".equals(headers.get(HEADERS_FIRST))) {
        return next.startCall(call, headers);
      }
      Metadata early = new Metadata();
      early.put(X_EARLY, "yes");
      call.sendHeaders(early);
      Metadata trailers = new Metadata();
      trailers.put(X_LATE, "yes");
      call.close(Status.PERMISSION_DENIED.withDescription(DENIED), trailers);
      return new ServerCall.Listener<>() {};
    }
  }
}
