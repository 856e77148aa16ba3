package dev.abortguard.grpc;

import static dev.abortguard.testing.EarlyCloseExpectations.rstOn;
import static dev.abortguard.testing.EarlyCloseExpectations.expectedCause;
import static dev.abortguard.testing.EarlyCloseExpectations.expectPolicyReset;
import static dev.abortguard.testing.EarlyCloseExpectations.expectImmediateReset;
import dev.abortguard.testing.EarlyCloseExpectations.Peer;
import static dev.abortguard.testing.RawHttp2Client.CANCEL;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import io.grpc.MethodDescriptor;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each reset policy × call shape × peer behaviour, on the wire: the frames a raw HTTP/2 client
 * receives after the server aborts a call at once, when they arrive, and what the metrics say.
 */
class EarlyClosePolicyWireTest {
  static final Duration GRACE = Duration.ofMillis(400);
  static final Duration WAIT = Duration.ofSeconds(5);
  static final List<MethodDescriptor<byte[], byte[]>> SHAPES =
      List.of(TestServers.UNARY, TestServers.CLIENT_STREAM, TestServers.BIDI);

  static final Map<ResetPolicy, GuardedTestServer> servers = new java.util.EnumMap<>(ResetPolicy.class);

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

  static Stream<Arguments> matrix() {
    List<Arguments> cases = new ArrayList<>();
    for (ResetPolicy policy : ResetPolicy.values()) {
      for (MethodDescriptor<byte[], byte[]> shape : SHAPES) {
        for (Peer peer : Peer.values()) {
          cases.add(Arguments.of(policy, shape.getBareMethodName(), peer));
        }
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1} peer {2}")
  @MethodSource("matrix")
  void abortThenPeer(ResetPolicy policy, String shape, Peer peer) {
    GuardedTestServer server = servers.get(policy);
    double releasedBefore = server.releasedTotal();
    double causeBefore = server.released(expectedCause(policy, peer));
    try (RawHttp2Client client = server.connect()) {
      int stream = client.startCall("/" + TestServers.SERVICE + "/" + shape,
          Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"), peer == Peer.HALF_CLOSES_FIRST);
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      assertTrailersOnly(client, stream, trailers);

      switch (peer) {
        case KEEPS_SENDING:
          for (int i = 0; i < 3; i++) {
            client.sendMessage(stream, ("after trailers " + i).getBytes(StandardCharsets.UTF_8), false);
          }
          expectPolicyReset(policy, client, stream, trailers, GRACE);
          break;
        case IDLE:
          expectPolicyReset(policy, client, stream, trailers, GRACE);
          break;
        case HALF_CLOSES_FIRST:
          // The stream closed with the trailers: nothing lingers, nothing is reset.
          client.assertNoFrame(rstOn(stream), GRACE.plusMillis(200));
          break;
        case RESETS_FIRST:
          client.sendRstStream(stream, CANCEL);
          if (policy == ResetPolicy.IMMEDIATE) {
            expectImmediateReset(client, stream, trailers);
          } else {
            client.assertNoFrame(rstOn(stream), GRACE.plusMillis(200));
          }
          break;
        default:
          throw new AssertionError(peer);
      }

      if (policy == ResetPolicy.NEVER && (peer == Peer.KEEPS_SENDING || peer == Peer.IDLE)) {
        // Still lingering: only the peer ends it.
        client.sync();
        assertEquals(1, server.lingering(), "lingering under never\n" + client.describeFrames());
        client.sendData(stream, new byte[0], true);
        client.assertNoFrame(rstOn(stream), Duration.ofMillis(100));
      }
      client.sync();
      assertEquals(0, server.lingering(), "lingering\n" + client.describeFrames());
      double expectedReleases = peer == Peer.HALF_CLOSES_FIRST ? 0 : 1;
      assertEquals(expectedReleases, server.releasedTotal() - releasedBefore,
          "released, all causes\n" + client.describeFrames());
      assertEquals(expectedReleases, server.released(expectedCause(policy, peer)) - causeBefore,
          "released{cause=" + expectedCause(policy, peer).tagValue() + "}\n" + client.describeFrames());
    }
  }

  /** One HEADERS frame with END_STREAM, the real status, and nothing before it on the stream. */
  static void assertTrailersOnly(RawHttp2Client client, int stream, Frame trailers) {
    String frames = client.describeFrames();
    assertTrue(trailers.endStream(), "trailers-only HEADERS carries END_STREAM\n" + frames);
    assertEquals("200", trailers.header(":status"), frames);
    assertEquals("application/grpc", trailers.header("content-type"), frames);
    assertEquals("7", trailers.header("grpc-status"), frames);
    assertEquals(TestServers.ABORT_DESCRIPTION, trailers.header("grpc-message"), frames);
    assertEquals(trailers, client.frames(stream).get(0), "the trailers are the stream's first frame\n" + frames);
  }
}
