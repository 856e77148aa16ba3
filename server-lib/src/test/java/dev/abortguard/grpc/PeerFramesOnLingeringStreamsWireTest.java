package dev.abortguard.grpc;

import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.EarlyCloseExpectations;
import dev.abortguard.testing.EarlyCloseExpectations.PeerFrame;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Legal peer frames on a stream grpc-java has ended, under each policy. Stock grpc-java answers
 * request trailers there with GOAWAY(INTERNAL_ERROR) and closes the connection; with the guard
 * the connection lives and serves the next call.
 */
@ExtendWith(LeakDetectionExtension.class)
class PeerFramesOnLingeringStreamsWireTest {
  static final Duration GRACE = Duration.ofMinutes(1);
  static final Map<ResetPolicy, GuardedTestServer> servers = new EnumMap<>(ResetPolicy.class);

  @BeforeAll
  static void startServers() {
    for (ResetPolicy policy : ResetPolicy.values()) {
      servers.put(policy, GuardedTestServer.start(b -> b.reset(policy).resetGrace(GRACE)));
    }
  }

  @AfterAll
  static void stopServers() {
    servers.values().forEach(GuardedTestServer::close);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(PeerFrame.class)
  void deferred(PeerFrame frame) {
    run(ResetPolicy.DEFERRED, frame);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(PeerFrame.class)
  void never(PeerFrame frame) {
    run(ResetPolicy.NEVER, frame);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(PeerFrame.class)
  void immediate(PeerFrame frame) {
    run(ResetPolicy.IMMEDIATE, frame);
  }

  /** The baseline the guard fixes: stock grpc-java takes request trailers there as a connection error. */
  @org.junit.jupiter.api.Test
  void stockGrpcJavaClosesTheConnectionOnRequestTrailers() {
    io.grpc.Server stock = TestServers.start(TestServers.plaintextBuilder());
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", stock.getPort())) {
      int stream = client.startCall(TestServers.path(TestServers.BIDI),
          Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"), false);
      client.awaitFrame(stream, HEADERS, Duration.ofSeconds(5));
      client.sync();
      client.sendHeaders(stream, Map.of("x-trailer", "yes"), true);
      Frame goAway = client.awaitFrame(f -> f.type() == RawHttp2Client.GOAWAY, Duration.ofSeconds(5));
      assertEquals(RawHttp2Client.INTERNAL_ERROR, goAway.errorCode(), client.describeFrames());
    } finally {
      TestServers.stop(stock);
    }
  }

  static void run(ResetPolicy policy, PeerFrame frame) {
    GuardedTestServer server = servers.get(policy);
    try (RawHttp2Client client = server.connect()) {
      EarlyCloseExpectations.peerFrameOnLingeringStream(server, client, TestServers.path(TestServers.BIDI), policy,
          frame, PeerFramesOnLingeringStreamsWireTest::unaryEcho);
    }
  }

  static void unaryEcho(RawHttp2Client client) {
    int stream = client.startCall(TestServers.path(TestServers.UNARY), Map.of(), false);
    client.sendMessage(stream, "ping".getBytes(UTF_8), true);
    Frame trailers = client.awaitFrame(f -> f.streamId() == stream && f.type() == HEADERS && f.endStream(),
        Duration.ofSeconds(5));
    assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
  }
}
