package dev.abortguard.grpc;

import static dev.abortguard.testing.EarlyCloseExpectations.rstOn;
import static dev.abortguard.testing.RawHttp2Client.DATA;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.GuardMeters;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The guard's interceptor on the wire: an application interceptor inside the guard sends headers
 * eagerly and then aborts; a raw HTTP/2 client records what reaches the socket and the registry
 * records how the guard counted it.
 */
@ExtendWith(LeakDetectionExtension.class)
class TrailersOnlyInterceptorWireTest {
  static final Duration WAIT = Duration.ofSeconds(5);
  static final Duration LONG_GRACE = Duration.ofSeconds(30);
  static final Duration SHORT_GRACE = Duration.ofMillis(300);

  static final String SERVICE = "test.HeadersFirst";
  static final MethodDescriptor<byte[], byte[]> BIDI = method("Bidi", MethodType.BIDI_STREAMING);
  static final MethodDescriptor<byte[], byte[]> UNARY = method("Unary", MethodType.UNARY);
  /** Answers the first request and completes OK at once, whatever the client does next. */
  static final MethodDescriptor<byte[], byte[]> ANSWER_ONCE = method("AnswerOnce", MethodType.BIDI_STREAMING);

  /** Makes the inner interceptor send headers, then abort before any message. */
  static final String HEADERS_FIRST = "x-test-headers-first";
  /** Makes the inner interceptor send headers and a message, then close with an error. */
  static final String MESSAGE_FIRST = "x-test-message-first";
  static final String DENIED = "denied after headers";
  static final byte[] EARLY_MESSAGE = "early message".getBytes(UTF_8);

  static final Metadata.Key<String> X_EARLY = Metadata.Key.of("x-early", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> X_LATE = Metadata.Key.of("x-late", Metadata.ASCII_STRING_MARSHALLER);

  // ------------------------------------------------------------------ trailers-only on

  @ParameterizedTest(name = "{0}")
  @EnumSource(ResetPolicy.class)
  void bidiHeadersFirstAbortWhileStreamingIsOneTrailersOnlyFrame(ResetPolicy policy) {
    try (GuardedTestServer server = start(b -> b.reset(policy).resetGrace(LONG_GRACE));
        RawHttp2Client client = server.connect()) {
      int stream = client.startCall(TestServers.path(BIDI), Map.of(HEADERS_FIRST, "true"), false);
      client.sendMessage(stream, "still streaming".getBytes(UTF_8), false);
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      client.sync();
      String frames = client.describeFrames();

      assertTrailersOnlyAbort(client, stream, trailers);
      if (policy == ResetPolicy.IMMEDIATE) {
        Frame rst = client.awaitFrame(rstOn(stream), WAIT);
        assertEquals(NO_ERROR, rst.errorCode(), frames);
      } else {
        assertTrue(client.frames(stream).stream().noneMatch(rstOn(stream)), frames);
      }

      assertOnlyCounter(server, "grpc.server.aborts", abortTags(BIDI, "streaming", "trailers_only"), frames);
      Map<String, Double> mitigated = new TreeMap<>();
      mitigated.put("trailers_only", 1.0);
      if (policy == ResetPolicy.DEFERRED) {
        mitigated.put("reset_withheld", 1.0);
      }
      assertEquals(mitigated, mitigationCounts(server, BIDI), frames);

      if (policy != ResetPolicy.IMMEDIATE) {
        assertEquals(1, server.lingering(), "the aborted stream lingers\n" + frames);
        client.sendData(stream, new byte[0], true);
        client.sync();
        assertEquals(0, server.lingering(), client.describeFrames());
        assertEquals(1, server.released(ReleaseCause.PEER_END_STREAM, 1), client.describeFrames());
      } else {
        assertEquals(0, server.lingering(), frames);
        assertEquals(1, server.released(ReleaseCause.IMMEDIATE, 1), frames);
      }
    }
  }

  @Test
  void unaryHeadersFirstAbortIsOneTrailersOnlyFrameFromAHalfClosedPeer() {
    try (GuardedTestServer server = start(b -> b.reset(ResetPolicy.DEFERRED).resetGrace(LONG_GRACE));
        RawHttp2Client client = server.connect()) {
      int stream = client.startCall(TestServers.path(UNARY), Map.of(HEADERS_FIRST, "true"), false);
      client.sendMessage(stream, "the only request".getBytes(UTF_8), true);
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      client.sync();
      String frames = client.describeFrames();

      assertTrailersOnlyAbort(client, stream, trailers);
      assertTrue(client.frames(stream).stream().noneMatch(rstOn(stream)), frames);
      assertOnlyCounter(server, "grpc.server.aborts", abortTags(UNARY, "half_closed", "trailers_only"), frames);
      assertEquals(Map.of("trailers_only", 1.0), mitigationCounts(server, UNARY), frames);
      Map<String, String> mitigatedTags = new LinkedHashMap<>();
      mitigatedTags.put("method", "Unary");
      mitigatedTags.put("mitigation", "trailers_only");
      mitigatedTags.put("service", SERVICE);
      mitigatedTags.put("statusCode", "PERMISSION_DENIED");
      assertOnlyCounter(server, "grpc.server.aborts.mitigated", mitigatedTags, frames);
      assertEquals(0, server.lingering(), frames);
    }
  }

  // ------------------------------------------------------------------ trailers-only off

  @Test
  void withoutTrailersOnlyTheEagerHeadersGoOutFirst() {
    try (GuardedTestServer server =
            start(b -> b.trailersOnly(false).reset(ResetPolicy.DEFERRED).resetGrace(LONG_GRACE));
        RawHttp2Client client = server.connect()) {
      int stream = client.startCall(TestServers.path(BIDI), Map.of(HEADERS_FIRST, "true"), false);
      client.sendMessage(stream, "still streaming".getBytes(UTF_8), false);
      Frame trailers = client.awaitFrame(f -> f.streamId() == stream && f.type() == HEADERS && f.endStream(), WAIT);
      client.sync();
      String frames = client.describeFrames();

      List<Frame> onStream = client.frames(stream);
      assertEquals(2, onStream.size(), "HEADERS, then trailers; nothing else\n" + frames);
      Frame headers = onStream.get(0);
      assertEquals(HEADERS, headers.type(), frames);
      assertFalse(headers.endStream(), frames);
      assertEquals("200", headers.header(":status"), frames);
      assertEquals("yes", headers.header("x-early"), frames);
      assertNull(headers.header("grpc-status"), frames);
      assertEquals(trailers, onStream.get(1), frames);
      assertEquals("7", trailers.header("grpc-status"), frames);
      assertEquals(DENIED, trailers.header("grpc-message"), frames);
      assertEquals("yes", trailers.header("x-late"), frames);
      assertNull(trailers.header(":status"), "real trailers carry no :status\n" + frames);
      assertNull(trailers.header("x-early"), frames);

      assertOnlyCounter(server, "grpc.server.aborts", abortTags(BIDI, "streaming", "headers_then_trailers"), frames);
      // The stream still ended early on the server's side, so the reset is still withheld.
      assertEquals(Map.of("reset_withheld", 1.0), mitigationCounts(server, BIDI), frames);
      assertEquals(1, server.lingering(), frames);
      client.sendData(stream, new byte[0], true);
      client.sync();
      assertEquals(0, server.lingering(), client.describeFrames());
    }
  }

  // ------------------------------------------------------------------ not aborts

  @ParameterizedTest(name = "trailersOnly={0}")
  @ValueSource(booleans = {true, false})
  void errorAfterAMessageIsHeadersDataTrailersAndNotAnAbort(boolean trailersOnly) {
    try (GuardedTestServer server =
            start(b -> b.trailersOnly(trailersOnly).reset(ResetPolicy.DEFERRED).resetGrace(LONG_GRACE));
        RawHttp2Client client = server.connect()) {
      int stream = client.startCall(TestServers.path(BIDI), Map.of(MESSAGE_FIRST, "true"), false);
      Frame trailers = client.awaitFrame(f -> f.streamId() == stream && f.type() == HEADERS && f.endStream(), WAIT);
      client.sync();
      String frames = client.describeFrames();

      List<Frame> onStream = client.frames(stream);
      assertEquals(List.of(HEADERS, DATA, HEADERS),
          onStream.stream().map(Frame::type).collect(Collectors.toList()), frames);
      Frame headers = onStream.get(0);
      assertFalse(headers.endStream(), frames);
      assertEquals("200", headers.header(":status"), frames);
      assertEquals("yes", headers.header("x-early"), frames);
      assertFalse(onStream.get(1).endStream(), frames);
      assertArrayEquals(RawHttp2Client.lengthPrefixed(EARLY_MESSAGE), client.receivedData(stream), frames);
      assertEquals(trailers, onStream.get(2), frames);
      assertEquals("7", trailers.header("grpc-status"), frames);
      assertEquals("yes", trailers.header("x-late"), frames);

      assertTrue(server.registry.find("grpc.server.aborts").counters().isEmpty(),
          "an error after the first message is not an abort: " + describe(server) + "\n" + frames);
      assertTrue(callCounters(server, "grpc.server.aborts.mitigated").isEmpty(), describe(server));
      client.sendData(stream, new byte[0], true);
      client.sync();
      assertEquals(0, server.lingering(), client.describeFrames());
    }
  }

  @Test
  void okCompletionWhileTheClientStreamsLingersUntilTheGraceAndIsNotAnAbort() {
    try (GuardedTestServer server = start(b -> b.reset(ResetPolicy.DEFERRED).resetGrace(SHORT_GRACE));
        RawHttp2Client client = server.connect()) {
      long callStarted = System.nanoTime(); // the server cannot end the stream, nor start its grace, earlier
      int stream = client.startCall(TestServers.path(ANSWER_ONCE), Map.of(), false);
      byte[] request = "hello".getBytes(UTF_8);
      client.sendMessage(stream, request, false);
      Frame trailers = client.awaitFrame(f -> f.streamId() == stream && f.type() == HEADERS && f.endStream(), WAIT);
      client.sync();
      String frames = client.describeFrames();

      List<Frame> onStream = client.frames(stream);
      assertEquals(List.of(HEADERS, DATA, HEADERS),
          onStream.stream().map(Frame::type).collect(Collectors.toList()), frames);
      assertEquals("200", onStream.get(0).header(":status"), frames);
      assertArrayEquals(RawHttp2Client.lengthPrefixed(request), client.receivedData(stream), frames);
      assertEquals("0", trailers.header("grpc-status"), frames);
      assertEquals(1, server.lingering(), "an OK close before the peer's end lingers too\n" + frames);

      Frame rst = client.awaitFrame(rstOn(stream), SHORT_GRACE.plus(WAIT));
      assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
      long afterStart = rst.receivedNanos() - callStarted;
      assertTrue(afterStart >= SHORT_GRACE.toNanos(),
          "reset " + TimeUnit.NANOSECONDS.toMillis(afterStart) + " ms after the call started\n"
              + client.describeFrames());
      client.sync();
      assertEquals(1, server.released(ReleaseCause.GRACE_EXPIRED, 1), client.describeFrames());
      assertEquals(0, server.lingering(), client.describeFrames());
      assertTrue(server.registry.find("grpc.server.aborts").counters().isEmpty(), describe(server));
      assertTrue(callCounters(server, "grpc.server.aborts.mitigated").isEmpty(), describe(server));
    }
  }

  // ------------------------------------------------------------------ helpers

  /** One HEADERS frame with END_STREAM carrying the status and both headers and trailers. */
  static void assertTrailersOnlyAbort(RawHttp2Client client, int stream, Frame trailers) {
    String frames = client.describeFrames();
    List<Frame> headers =
        client.frames(stream).stream().filter(f -> f.type() == HEADERS).collect(Collectors.toList());
    assertEquals(List.of(trailers), headers, "exactly one HEADERS frame\n" + frames);
    assertEquals(trailers, client.frames(stream).get(0), "the stream's first frame\n" + frames);
    assertTrue(client.frames(stream).stream().noneMatch(f -> f.type() == DATA), frames);
    assertTrue(trailers.endStream(), frames);
    assertEquals("200", trailers.header(":status"), frames);
    assertEquals("application/grpc", trailers.header("content-type"), frames);
    assertEquals("7", trailers.header("grpc-status"), frames);
    assertEquals(DENIED, trailers.header("grpc-message"), frames);
    assertEquals("yes", trailers.header("x-early"), frames);
    assertEquals("yes", trailers.header("x-late"), frames);
  }

  static Map<String, String> abortTags(MethodDescriptor<?, ?> method, String peer, String response) {
    Map<String, String> tags = new LinkedHashMap<>();
    tags.put("method", method.getBareMethodName());
    tags.put("methodType", method.getType().name());
    tags.put("peer", peer);
    tags.put("response", response);
    tags.put("service", SERVICE);
    tags.put("statusCode", "PERMISSION_DENIED");
    return tags;
  }

  /** The meter {@code name} exists exactly once, with exactly these tags, and counted 1. */
  static void assertOnlyCounter(GuardedTestServer server, String name, Map<String, String> tags, String frames) {
    // Aborts are counted once grpc-java has finished the call, which may be just after the client
    // read its trailers.
    GuardMeters.settle(() -> server.registry.find(name).counters().stream().mapToDouble(Counter::count).sum(), 1);
    List<Counter> counters = callCounters(server, name);
    assertEquals(1, counters.size(), name + ": " + describe(server) + "\n" + frames);
    assertEquals(tags, tagMap(counters.get(0)), name + " tags\n" + frames);
    assertEquals(1, counters.get(0).count(), name + "\n" + frames);
  }

  /** The counters named {@code name} that belong to a method: not the mitigations' up-front zeros. */
  static List<Counter> callCounters(GuardedTestServer server, String name) {
    return server.registry.find(name).counters().stream()
        .filter(counter -> !"".equals(counter.getId().getTag("method")))
        .collect(Collectors.toList());
  }

  /**
   * The non-zero {@code grpc.server.aborts.mitigated} counters, by their {@code mitigation} tag;
   * each must carry exactly the tags service, method (bare), statusCode and mitigation.
   */
  static Map<String, Double> mitigationCounts(GuardedTestServer server, MethodDescriptor<?, ?> method) {
    Map<String, Double> counts = new TreeMap<>();
    for (Counter counter : server.registry.find("grpc.server.aborts.mitigated").counters()) {
      if (counter.count() != 0) {
        Map<String, String> tags = tagMap(counter);
        assertEquals(Set.of("method", "mitigation", "service", "statusCode"), tags.keySet(), tags.toString());
        assertEquals("PERMISSION_DENIED", tags.get("statusCode"), tags.toString());
        assertEquals(SERVICE, tags.get("service"), tags.toString());
        assertEquals(method.getBareMethodName(), tags.get("method"), tags.toString());
        counts.merge(tags.get("mitigation"), counter.count(), Double::sum);
      }
    }
    return counts;
  }

  static Map<String, String> tagMap(Meter meter) {
    return meter.getId().getTags().stream()
        .collect(Collectors.toMap(Tag::getKey, Tag::getValue, (a, b) -> a, TreeMap::new));
  }

  static String describe(GuardedTestServer server) {
    return server.registry.getMeters().stream()
        .filter(m -> m instanceof Counter && ((Counter) m).count() != 0)
        .map(m -> m.getId().getName() + tagMap(m) + "=" + ((Counter) m).count())
        .collect(Collectors.joining(", ", "[", "]"));
  }

  static GuardedTestServer start(UnaryOperator<AbortGuard.Builder> guardOptions) {
    return GuardedTestServer.start(guardOptions, InsecureServerCredentials.create(), b -> b.addService(service()));
  }

  /** The service, with the eager-headers interceptor inside the guard's (which install adds). */
  static ServerServiceDefinition service() {
    ServerServiceDefinition service = ServerServiceDefinition.builder(SERVICE)
        .addMethod(BIDI, ServerCalls.asyncBidiStreamingCall(TestServers::echo))
        .addMethod(UNARY, ServerCalls.asyncUnaryCall((request, responses) -> {
          responses.onNext(request);
          responses.onCompleted();
        }))
        .addMethod(ANSWER_ONCE, ServerCalls.asyncBidiStreamingCall(TrailersOnlyInterceptorWireTest::answerOnce))
        .build();
    return ServerInterceptors.intercept(service, new EagerHeadersInterceptor());
  }

  static StreamObserver<byte[]> answerOnce(StreamObserver<byte[]> responses) {
    return new StreamObserver<>() {
      boolean answered;

      @Override
      public void onNext(byte[] request) {
        if (!answered) {
          answered = true;
          responses.onNext(request);
          responses.onCompleted();
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        if (!answered) {
          answered = true;
          responses.onCompleted();
        }
      }
    };
  }

  static MethodDescriptor<byte[], byte[]> method(String name, MethodType type) {
    return MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .setRequestMarshaller(TestServers.bytesMarshaller())
        .setResponseMarshaller(TestServers.bytesMarshaller())
        .build();
  }

  /**
   * An application interceptor that sends headers eagerly ({@code x-early: yes}) and then closes
   * with PERMISSION_DENIED and a trailer {@code x-late: yes}; with {@link #MESSAGE_FIRST} it sends
   * a message in between.
   */
  static final class EagerHeadersInterceptor implements ServerInterceptor {
    static final Metadata.Key<String> HEADERS_FIRST_KEY =
        Metadata.Key.of(HEADERS_FIRST, Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> MESSAGE_FIRST_KEY =
        Metadata.Key.of(MESSAGE_FIRST, Metadata.ASCII_STRING_MARSHALLER);

    @Override
    @SuppressWarnings("unchecked")
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
        ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
      boolean headersFirst = "true".equals(headers.get(HEADERS_FIRST_KEY));
      boolean messageFirst = "true".equals(headers.get(MESSAGE_FIRST_KEY));
      if (!headersFirst && !messageFirst) {
        return next.startCall(call, headers);
      }
      Metadata early = new Metadata();
      early.put(X_EARLY, "yes");
      call.sendHeaders(early);
      if (messageFirst) {
        call.sendMessage((RespT) EARLY_MESSAGE);
      }
      Metadata trailers = new Metadata();
      trailers.put(X_LATE, "yes");
      call.close(Status.PERMISSION_DENIED.withDescription(DENIED), trailers);
      return new ServerCall.Listener<>() {};
    }
  }
}
