package dev.abortguard.hostile;

import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.EarlyCloseExpectations;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What {@link HostileFramesFuzzTest} found, each as the shortest frame sequence that shows it,
 * run deterministically on both adapters.
 */
@ExtendWith(LeakDetectionExtension.class)
class FuzzFindingsTest {
  static final Duration WAIT = Duration.ofSeconds(5);
  static final Duration GRACE = Duration.ofSeconds(10);
  static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");

  static ServerProblems problems;

  @BeforeAll
  static void startRecording() {
    problems = ServerProblems.install();
  }

  @AfterAll
  static void stopRecording() {
    problems.close();
  }

  /** A frame HTTP/2 makes a stream error, sent on a lingering stream. */
  enum StreamErrorFrame {
    /** WINDOW_UPDATE with increment 0: PROTOCOL_ERROR (RFC 9113 §6.9). */
    WINDOW_UPDATE_0,
    /** A second HEADERS without END_STREAM: malformed, PROTOCOL_ERROR (RFC 9113 §8.1.1). */
    HEADERS_WITHOUT_END_STREAM
  }

  enum Adapter {
    GRPC,
    FRAME_CODEC
  }

  /**
   * A stream error on a lingering stream gets RST_STREAM like on any other stream, and the stream
   * stops lingering (released as {@code server_reset}).
   *
   * <p>Found by seed 104374869631014 (e.g. {@code codec-never#…}). On the frame-codec adapter the
   * codec hands the stream error to the stream's child channel, which is gone (the guard withheld
   * the CANCEL its close wrote): no RST_STREAM goes out, the stream goes on lingering and holds its
   * MAX_CONCURRENT_STREAMS slot, until the grace runs out ({@code deferred}) or for ever ({@code
   * never}). Stock Netty closed the stream with the child, so there the frame hits a closed stream
   * and Netty answers RST_STREAM(PROTOCOL_ERROR). grpc-java's adapter answers it.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(StreamErrorFrame.class)
  void streamErrorOnLingeringStreamIsAnsweredFrameCodecDeferred(StreamErrorFrame frame) {
    streamErrorOnLingeringStream(Adapter.FRAME_CODEC, ResetPolicy.DEFERRED, frame);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(StreamErrorFrame.class)
  void streamErrorOnLingeringStreamIsAnsweredFrameCodecNever(StreamErrorFrame frame) {
    streamErrorOnLingeringStream(Adapter.FRAME_CODEC, ResetPolicy.NEVER, frame);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(StreamErrorFrame.class)
  void streamErrorOnLingeringStreamIsAnsweredGrpcDeferred(StreamErrorFrame frame) {
    streamErrorOnLingeringStream(Adapter.GRPC, ResetPolicy.DEFERRED, frame);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(StreamErrorFrame.class)
  void streamErrorOnLingeringStreamIsAnsweredGrpcNever(StreamErrorFrame frame) {
    streamErrorOnLingeringStream(Adapter.GRPC, ResetPolicy.NEVER, frame);
  }

  static void streamErrorOnLingeringStream(Adapter adapter, ResetPolicy policy, StreamErrorFrame frame) {
    try (ServerUnderTest server = start(adapter, policy);
        RawHttp2Client client = server.connect()) {
      int stream = client.startCall(ServerUnderTest.BIDI, ABORT, false);
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      EarlyCloseExpectations.assertTrailersOnly(client, stream, trailers);
      client.sync();
      assertEquals(1, server.lingering(), "the aborted stream lingers\n" + client.describeFrames());

      if (frame == StreamErrorFrame.WINDOW_UPDATE_0) {
        client.sendRawFrame(RawHttp2Client.WINDOW_UPDATE, 0, stream, RawFrames.windowUpdate(0));
      } else {
        client.sendHeaders(stream, Map.of("x-second-headers", "1"), false);
      }
      client.sync();
      Frame rst = client.awaitFrame(f -> f.type() == RST_STREAM && f.streamId() == stream, Duration.ofSeconds(1));
      assertEquals(RawHttp2Client.PROTOCOL_ERROR, rst.errorCode(), client.describeFrames());
      client.assertNoFrame(f -> f.type() == RawHttp2Client.GOAWAY, Duration.ZERO);
      assertEquals(0, server.lingering(), "released once reset\n" + client.describeFrames());
      ServerUnderTest.assertEchoCall(client, "after the stream error");
    }
  }

  /**
   * The same stream error sent together with the request, before the server answered: HEADERS
   * (an abort) and WINDOW_UPDATE(0) in one write. The server still answers the stream error with
   * RST_STREAM, and nothing lingers.
   *
   * <p>Found by {@code RapidResetTest} (MadeYouReset with WINDOW_UPDATE 0 on the frame codec: 99
   * streams released only by {@code grace_expired}). Observed on the frame-codec adapter under
   * {@code deferred} and {@code never}: the child writes its trailers, the codec hands it the
   * stream error, the child closes and its close writes RST_STREAM(CANCEL), which the guard takes
   * for the CANCEL of an ordinary early close and withholds: no RST_STREAM, the stream lingers
   * (until the grace runs out, or for ever under {@code never}). Stock Netty sends that CANCEL.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(Adapter.class)
  void streamErrorSentWithTheAbortedRequestIsAnsweredDeferred(Adapter adapter) {
    streamErrorSentWithTheRequest(adapter, ResetPolicy.DEFERRED);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Adapter.class)
  void streamErrorSentWithTheAbortedRequestIsAnsweredNever(Adapter adapter) {
    streamErrorSentWithTheRequest(adapter, ResetPolicy.NEVER);
  }

  static void streamErrorSentWithTheRequest(Adapter adapter, ResetPolicy policy) {
    try (ServerUnderTest server = start(adapter, policy);
        RawHttp2Client client = server.connect()) {
      for (int stream = 1; stream <= 9; stream += 2) {
        int id = stream;
        Map<String, String> headers = request(server, ServerUnderTest.BIDI, "application/grpc");
        headers.putAll(ABORT);
        client.corked(() -> {
          client.sendHeaders(id, headers, false);
          client.sendRawFrame(RawHttp2Client.WINDOW_UPDATE, 0, id, RawFrames.windowUpdate(0));
        });
        client.sync();
        client.awaitFrame(f -> f.type() == RST_STREAM && f.streamId() == id, Duration.ofSeconds(1));
      }
      client.sync();
      dev.abortguard.testing.Await.until("nothing lingering (reads " + server.lingering() + ")",
          () -> server.lingering() == 0, Duration.ofSeconds(1));
      client.assertNoFrame(f -> f.type() == RawHttp2Client.GOAWAY, Duration.ZERO);
    }
  }

  /**
   * grpc-java: a request that grpc-java answers with an HTTP error (no or a wrong content-type, a
   * path without a slash), read after the connection has closed in the same read, must not be
   * reported as a server without the call layer: {@code abortguard.misconfigured{problem=
   * call_layer_missing}} stays 0 and nothing is logged at SEVERE.
   *
   * <p>Found by seed 104374869631014 ({@code grpc-never#29}, {@code grpc-immediate#20} and
   * others; timing-dependent there). grpc-java's error response cannot be written on a closed
   * channel, so the stream has neither headers sent nor a reset, and {@code
   * GrpcConnectionAdapter} takes it for a call no call layer saw. Here the connection closes
   * because request trailers reach stream 1 while grpc-java's 404 (HEADERS, then DATA with
   * END_STREAM) is still queued: grpc-java answers them with a second response and Netty's
   * encoder with GOAWAY(INTERNAL_ERROR "Stream 1 sent too many headers"), stock and guarded alike.
   */
  @Test
  void malformedRequestAfterTheConnectionClosedIsNotAMisconfiguration() {
    try (ServerUnderTest server = start(Adapter.GRPC, ResetPolicy.DEFERRED)) {
      int logged = problems.guardWarnings().size();
      for (int i = 0; i < 5; i++) {
        try (RawHttp2Client client = server.connect()) {
          client.corked(() -> {
            client.sendHeaders(1, request(server, "test.Echo/Bidi", "application/grpc"), false);
            client.sendHeaders(1, Map.of("x-request-trailer", "1"), true);
            client.sendHeaders(3, request(server, "/test.Echo/Bidi", null), false);
          });
          assertTrue(client.awaitClosed(WAIT), "grpc-java closes the connection\n" + client.describeFrames());
        }
        dev.abortguard.testing.Await.until("the server to see the connection closed",
            () -> server.openConnections() == 0, WAIT);
        double misconfigured = server.registry.find("abortguard.misconfigured").counters().stream()
            .mapToDouble(c -> c.count()).sum();
        List<String> warnings = problems.guardWarnings();
        assertEquals(0, misconfigured, "abortguard.misconfigured on a server built with guard.forAddress(...);"
            + " the guard logged: " + warnings.subList(logged, warnings.size()));
      }
      server.assertAnswersOnNewConnection("after the closed connections");
    }
  }

  static ServerUnderTest start(Adapter adapter, ResetPolicy policy) {
    return adapter == Adapter.GRPC
        ? ServerUnderTest.grpc("grpc-" + policy.value(), b -> b.reset(policy).resetGrace(GRACE), b -> b)
        : ServerUnderTest.frameCodec("codec-" + policy.value(), b -> b.reset(policy).resetGrace(GRACE), c -> c);
  }

  static Map<String, String> request(ServerUnderTest server, String path, String contentType) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put(":method", "POST");
    headers.put(":scheme", "http");
    headers.put(":path", path);
    headers.put(":authority", "127.0.0.1:" + server.port());
    if (contentType != null) {
      headers.put("content-type", contentType);
    }
    headers.put("te", "trailers");
    return headers;
  }
}
