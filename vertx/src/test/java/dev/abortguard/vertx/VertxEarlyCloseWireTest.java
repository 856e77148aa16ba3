package dev.abortguard.vertx;

import static dev.abortguard.testing.EarlyCloseExpectations.assertTrailersOnly;
import static dev.abortguard.testing.EarlyCloseExpectations.rstOn;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.EarlyCloseExpectations;
import dev.abortguard.testing.EarlyCloseExpectations.Peer;
import dev.abortguard.testing.EarlyCloseExpectations.PeerFrame;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Vert.x gRPC server on the wire, stock and guarded by {@link AbortGuardVertx}, seen through a
 * raw HTTP/2 client that records every frame: the shared per-policy expectations every adapter meets
 * ({@link EarlyCloseExpectations}), and stock Vert.x (trailers-only, then nothing) as the baseline.
 */
@ExtendWith(LeakDetectionExtension.class)
class VertxEarlyCloseWireTest {
  static final Duration GRACE = Duration.ofMillis(400);
  static final Duration WAIT = Duration.ofSeconds(5);
  static final String PATH = TestServers.path(TestServers.BIDI);
  static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");

  static final Map<ResetPolicy, VertxTestServer> servers = new EnumMap<>(ResetPolicy.class);

  @BeforeAll
  static void startServers() {
    for (ResetPolicy policy : ResetPolicy.values()) {
      servers.put(policy, VertxTestServer.start(b -> b.reset(policy).resetGrace(GRACE)));
    }
  }

  @AfterAll
  static void stopServers() {
    servers.values().forEach(VertxTestServer::close);
  }

  /** Stock Vert.x sends the trailers and never resets: the stream stays open while the peer does. */
  @Test
  void stockVertxLeavesTheStreamOpen() {
    try (VertxTestServer server = VertxTestServer.startStock();
        RawHttp2Client client = server.connect()) {
      int stream = client.startCall(PATH, ABORT, false);
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      assertTrailersOnly(client, stream, trailers);
      client.sendMessage(stream, "after".getBytes(), false);
      client.assertNoFrame(rstOn(stream), GRACE.multipliedBy(2));
      assertEquals(List.of(trailers), client.frames(stream), client.describeFrames());
      assertTrue(server.registry.getMeters().isEmpty(), "no guard meters: " + server.registry.getMeters());
    }
  }

  @ParameterizedTest(name = "{0} peer {1}")
  @MethodSource("dev.abortguard.testing.EarlyCloseExpectations#policiesAndPeers")
  void abortThenPeer(ResetPolicy policy, Peer peer) {
    VertxTestServer server = servers.get(policy);
    try (RawHttp2Client client = server.connect()) {
      EarlyCloseExpectations.abortThenPeer(server, client, PATH, policy, peer, GRACE);
    }
  }

  /**
   * The peer's RST_STREAM(NO_ERROR) on a lingering stream, and again on the same stream once it
   * is released (reset by the guard or already reset by the peer), with DATA after it: no GOAWAY,
   * no reset on any other stream, and the next call on the connection is served.
   */
  @ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(ResetPolicy.class)
  void latePeerResetsNeverKillTheConnection(ResetPolicy policy) {
    VertxTestServer server = servers.get(policy);
    try (RawHttp2Client client = server.connect()) {
      int stream = client.startCall(PATH, ABORT, false);
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      assertTrailersOnly(client, stream, trailers);
      if (policy == ResetPolicy.DEFERRED) {
        client.awaitFrame(rstOn(stream), GRACE.plus(WAIT)); // released by the grace first
      }
      client.sync();
      client.sendRstStream(stream, RawHttp2Client.NO_ERROR);
      client.sendMessage(stream, "late".getBytes(), false);
      client.sendRstStream(stream, RawHttp2Client.NO_ERROR);
      client.sync();
      client.assertNoFrame(f -> f.type() == RawHttp2Client.GOAWAY, Duration.ZERO);
      EarlyCloseExpectations.servesAnEcho(client, PATH);
      client.assertNoFrame(f -> f.type() == RawHttp2Client.GOAWAY
          || f.type() == RawHttp2Client.RST_STREAM && f.streamId() != stream, Duration.ZERO);
      assertEquals(0, server.lingering(), client.describeFrames());
    }
  }

  /**
   * The application writes to a stream 100 ms after the peer reset it with NO_ERROR: on stock
   * Vert.x and guarded alike the write goes nowhere, and the connection serves the next call.
   */
  @ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(ResetPolicy.class)
  void aLateWriteAfterThePeersResetLeavesTheConnectionUp(ResetPolicy policy) {
    assertLateWriteHarmless(servers.get(policy));
  }

  @Test
  void aLateWriteAfterThePeersResetOnStockVertx() {
    try (VertxTestServer stock = VertxTestServer.startStock()) {
      assertLateWriteHarmless(stock);
    }
  }

  private static void assertLateWriteHarmless(VertxTestServer server) {
    try (RawHttp2Client client = server.connect()) {
      int stream = client.startCall("/" + TestServers.SERVICE + "/Late", Map.of(), false);
      client.sendMessage(stream, "answer me late".getBytes(), false);
      client.sync();
      client.sendRstStream(stream, RawHttp2Client.NO_ERROR);
      client.sync();
      // The write is due 100 ms after the message; give it time, then check the connection.
      client.assertNoFrame(f -> f.type() == RawHttp2Client.GOAWAY, Duration.ofMillis(400));
      EarlyCloseExpectations.servesAnEcho(client, PATH);
      // (A slow server may write before it reads the reset; either way the connection lives.)
      client.assertNoFrame(f -> f.type() == RawHttp2Client.GOAWAY, Duration.ZERO);
    }
  }

  /** Legal frames on a lingering stream never kill the connection, and the next call is served. */
  @ParameterizedTest(name = "{0} then {1}")
  @MethodSource("dev.abortguard.testing.EarlyCloseExpectations#policiesAndPeerFrames")
  void peerFramesOnALingeringStream(ResetPolicy policy, PeerFrame frame) {
    VertxTestServer server = servers.get(policy);
    try (RawHttp2Client client = server.connect()) {
      EarlyCloseExpectations.peerFrameOnLingeringStream(server, client, PATH, policy, frame,
          c -> EarlyCloseExpectations.servesAnEcho(c, PATH));
    }
  }
}
