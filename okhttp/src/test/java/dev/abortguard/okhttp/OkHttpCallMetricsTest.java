package dev.abortguard.okhttp;

import static dev.abortguard.okhttp.OkHttpTestServer.ABORT;
import static dev.abortguard.okhttp.OkHttpTestServer.BIDI;
import static dev.abortguard.okhttp.OkHttpTestServer.UNARY;
import static dev.abortguard.okhttp.OkHttpTestServer.WAIT;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.GuardMeters;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.micrometer.core.instrument.Counter;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code grpc.server.aborts} and {@code grpc.server.aborts.mitigated} from the call layer that
 * {@link AbortGuardOkHttp} installs, on the wire through a raw client. grpc-okhttp has no HTTP/2
 * stream the call layer can bind to, so the {@code peer} tag is what the guard's interceptor saw
 * (the client's half-close delivered to the call, or a unary/server-streaming method) and {@code
 * response} is whether headers passed through the interceptor before the close; {@code
 * mitigated{mitigation=reset_withheld}} is never counted on grpc-okhttp (documented), while {@code
 * mitigated{mitigation=trailers_only}} is, for headers the interceptor held back. Each abort is
 * counted exactly once under every policy; OK calls and calls the client cancelled are no aborts.
 */
class OkHttpCallMetricsTest {
  /** {@code test.Eager/Bidi}: sends response headers, then closes PERMISSION_DENIED. */
  static final MethodDescriptor<byte[], byte[]> EAGER =
      TestServers.BIDI.toBuilder().setFullMethodName("test.Eager/Bidi").build();

  static final ServerInterceptor HEADERS_THEN_ABORT = new ServerInterceptor() {
    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
        ServerCallHandler<ReqT, RespT> next) {
      Metadata early = new Metadata();
      early.put(Metadata.Key.of("x-early", Metadata.ASCII_STRING_MARSHALLER), "yes");
      call.sendHeaders(early);
      call.close(Status.PERMISSION_DENIED.withDescription(TestServers.ABORT_DESCRIPTION), new Metadata());
      return new ServerCall.Listener<ReqT>() {};
    }
  };

  static ServerServiceDefinition eagerService() {
    return ServerInterceptors.intercept(ServerServiceDefinition.builder("test.Eager")
        .addMethod(EAGER, ServerCalls.asyncBidiStreamingCall(TestServers::echo)).build(), HEADERS_THEN_ABORT);
  }

  /** A client still sending on a bidi call: peer streaming, trailers-only, nothing mitigated on okhttp. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ResetPolicy.class)
  void anAbortedBidiCallIsCountedOnceAsStreaming(ResetPolicy policy) {
    try (OkHttpTestServer server = OkHttpTestServer.start(b -> b.reset(policy));
        RawHttp2Client client = server.connect()) {
      for (int i = 1; i <= 3; i++) {
        OkHttpTestServer.lingeringCall(client);
        assertEquals(i, server.abortsReaching(i), client.describeFrames());
      }
      OkHttpTestServer.unaryEcho(client);
      client.sync();
      assertOnlyCounter(server, "grpc.server.aborts", Map.of("service", TestServers.SERVICE, "method", "Bidi",
          "methodType", "BIDI_STREAMING", "statusCode", "PERMISSION_DENIED", "peer", "streaming",
          "response", "trailers_only"), 3);
      assertEquals(0, server.mitigated(), "reset_withheld is not counted on grpc-okhttp (the call layer cannot"
          + " see the socket); no headers to hold back\n" + describe(server));
    }
  }

  /** A unary call: its one message comes with END_STREAM, so the abort counts as half_closed. */
  @Test
  void anAbortedUnaryCallIsHalfClosed() {
    try (OkHttpTestServer server = OkHttpTestServer.start(b -> b);
        RawHttp2Client client = server.connect()) {
      int stream = client.startCall(UNARY, Map.of(TestServers.ABORT_HEADER, "UNAVAILABLE"), false);
      client.sendMessage(stream, "request".getBytes(StandardCharsets.UTF_8), true);
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      assertEquals("14", trailers.header("grpc-status"), client.describeFrames());
      assertEquals(1, server.abortsReaching(1));
      assertOnlyCounter(server, "grpc.server.aborts", Map.of("service", TestServers.SERVICE, "method", "Unary",
          "methodType", "UNARY", "statusCode", "UNAVAILABLE", "peer", "half_closed", "response", "trailers_only"), 1);
      assertEquals(0, server.mitigated());
    }
  }

  /**
   * A bidi call whose request HEADERS carry END_STREAM: the server closes it while grpc-okhttp
   * still has the half-close to deliver. What the interceptor saw decides the peer tag; on
   * grpc-okhttp the half-close is delivered to the guard's listener before the call is counted.
   */
  @Test
  void anAbortedBidiCallHalfClosedWithItsHeaders() {
    try (OkHttpTestServer server = OkHttpTestServer.start(b -> b);
        RawHttp2Client client = server.connect()) {
      int rounds = 10;
      for (int i = 1; i <= rounds; i++) {
        int stream = client.startCall(BIDI, ABORT, true);
        client.awaitFrame(stream, HEADERS, WAIT);
        assertEquals(i, server.abortsReaching(i), client.describeFrames());
      }
      client.sync();
      double halfClosed = server.aborts("peer", "half_closed");
      double streaming = server.aborts("peer", "streaming");
      System.out.printf("[okhttp metrics] bidi aborts half-closed with their HEADERS: peer=half_closed %.0f,"
          + " peer=streaming %.0f of %d%n", halfClosed, streaming, rounds);
      assertEquals(rounds, halfClosed, describe(server));
      assertEquals(0, server.lingering(), "a half-closed stream never lingers");
      assertEquals(0, server.releasedTotal());
    }
  }

  /** Calls that end OK, and calls the client cancels, are no aborts. */
  @Test
  void okCallsAndCancelledCallsAreNoAborts() {
    try (OkHttpTestServer server = OkHttpTestServer.start(b -> b);
        RawHttp2Client client = server.connect()) {
      OkHttpTestServer.unaryEcho(client);
      int cancelled = client.startCall(BIDI, Map.of(), false);
      client.sendMessage(cancelled, "echo me".getBytes(StandardCharsets.UTF_8), false);
      client.awaitFrame(f -> f.streamId() == cancelled && f.type() == RawHttp2Client.DATA, WAIT);
      client.sendRstStream(cancelled, RawHttp2Client.CANCEL);
      client.sync();
      OkHttpTestServer.unaryEcho(client);
      assertEquals(0, GuardMeters.settle(server::aborts, 1), describe(server));
      assertTrue(server.registry.find("grpc.server.aborts").counters().isEmpty(), describe(server));
    }
  }

  /**
   * Response headers sent before the abort: the guard's interceptor holds them back and merges
   * them into the trailers (trailers-only, {@code mitigated{trailers_only}}); with {@code
   * trailersOnly(false)} they go out first ({@code response=headers_then_trailers}, nothing mitigated).
   */
  @Test
  void eagerHeadersAreHeldBackUnlessTrailersOnlyIsOff() {
    for (boolean trailersOnly : new boolean[] {true, false}) {
      try (OkHttpTestServer server = OkHttpTestServer.start(b -> b.trailersOnly(trailersOnly),
              InsecureServerCredentials.create(), b -> b.addService(eagerService()));
          RawHttp2Client client = server.connect()) {
        int stream = client.startCall("/" + EAGER.getFullMethodName(), Map.of(), false);
        Frame trailers = client.awaitFrame(f -> f.streamId() == stream && f.type() == HEADERS && f.endStream(), WAIT);
        List<Frame> headers = client.frames(stream).stream().filter(f -> f.type() == HEADERS)
            .collect(Collectors.toList());
        String frames = client.describeFrames();
        assertEquals("7", trailers.header("grpc-status"), frames);
        assertEquals(1, server.abortsReaching(1), frames);
        Map<String, String> tags = new TreeMap<>(Map.of("service", "test.Eager", "method", "Bidi",
            "methodType", "BIDI_STREAMING", "statusCode", "PERMISSION_DENIED", "peer", "streaming"));
        if (trailersOnly) {
          assertEquals(List.of(trailers), headers, "one HEADERS frame: trailers-only\n" + frames);
          assertEquals("yes", trailers.header("x-early"), "the held-back header is in the trailers\n" + frames);
          tags.put("response", "trailers_only");
          assertEquals(1, server.mitigatedReaching(1, "mitigation", "trailers_only"), describe(server));
        } else {
          assertEquals(2, headers.size(), "headers, then trailers\n" + frames);
          assertFalse(headers.get(0).endStream(), frames);
          assertEquals("yes", headers.get(0).header("x-early"), frames);
          tags.put("response", "headers_then_trailers");
          assertEquals(0, server.mitigated(), describe(server));
        }
        assertOnlyCounter(server, "grpc.server.aborts", tags, 1);
        assertEquals(0, server.misconfigured("headers_outside_interceptor"), describe(server));
      }
    }
  }

  /** {@code name} has exactly one non-zero counter, with exactly {@code tags}, reading {@code count}. */
  static void assertOnlyCounter(OkHttpTestServer server, String name, Map<String, String> tags, double count) {
    assertEquals(Map.of(new TreeMap<>(tags), count), counted(server, name), name);
  }

  /** The non-zero counters named {@code name}: their tags (sorted by key) to their counts. */
  static Map<Map<String, String>, Double> counted(OkHttpTestServer server, String name) {
    Map<Map<String, String>, Double> counted = new LinkedHashMap<>();
    for (Counter counter : server.registry.find(name).counters()) {
      if (counter.count() > 0) {
        Map<String, String> tags = new TreeMap<>();
        counter.getId().getTags().forEach(tag -> tags.put(tag.getKey(), tag.getValue()));
        counted.put(tags, counter.count());
      }
    }
    return counted;
  }

  /** The guard's non-zero counters, for assertion messages. */
  static String describe(OkHttpTestServer server) {
    return "aborts " + counted(server, "grpc.server.aborts") + ", mitigated "
        + counted(server, "grpc.server.aborts.mitigated") + ", misconfigured "
        + counted(server, "abortguard.misconfigured");
  }
}
