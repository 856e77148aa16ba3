package dev.abortguard.okhttp;

import static dev.abortguard.testing.EarlyCloseExpectations.assertTrailersOnly;
import static dev.abortguard.testing.EarlyCloseExpectations.rstOn;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.EarlyCloseExpectations;
import dev.abortguard.testing.EarlyCloseExpectations.Peer;
import dev.abortguard.testing.EarlyCloseExpectations.PeerFrame;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * grpc-okhttp's server on the wire, stock and guarded by {@link AbortGuardOkHttp}, seen through a
 * raw HTTP/2 client that records every frame: the per-policy expectations every adapter meets
 * ({@link EarlyCloseExpectations}), and stock grpc-okhttp's RST_STREAM(NO_ERROR) in the trailers'
 * write as the baseline.
 */
class OkHttpEarlyCloseWireTest {
  static final Duration GRACE = Duration.ofMillis(400);
  static final Duration WAIT = Duration.ofSeconds(5);
  static final String PATH = TestServers.path(TestServers.BIDI);
  static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");

  static final Map<ResetPolicy, OkHttpTestServer> servers = new EnumMap<>(ResetPolicy.class);

  @BeforeAll
  static void startServers() {
    for (ResetPolicy policy : ResetPolicy.values()) {
      servers.put(policy, OkHttpTestServer.start(b -> b.reset(policy).resetGrace(GRACE)));
    }
  }

  @AfterAll
  static void stopServers() {
    servers.values().forEach(OkHttpTestServer::close);
  }

  /** Stock grpc-okhttp: trailers-only, then RST_STREAM(NO_ERROR) read in the same batch. */
  @Test
  void stockOkHttpResetsInTheTrailersWrite() {
    try (OkHttpTestServer server = OkHttpTestServer.startStock();
        RawHttp2Client client = server.connect()) {
      int samples = 20;
      int sameBatch = 0;
      for (int i = 0; i < samples; i++) {
        int stream = client.startCall(PATH, ABORT, false);
        Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
        assertTrailersOnly(client, stream, trailers);
        Frame rst = client.awaitFrame(rstOn(stream), Duration.ofMillis(500));
        assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
        if (rst.readBatch() == trailers.readBatch()) {
          sameBatch++;
        }
      }
      System.out.printf("[okhttp] stock RST_STREAM(NO_ERROR) in the trailers' read batch: %d/%d%n", sameBatch, samples);
      assertEquals(samples, sameBatch, "stock grpc-okhttp writes the reset with the trailers\n" + client.describeFrames());
    }
  }

  @ParameterizedTest(name = "{0} peer {1}")
  @MethodSource("dev.abortguard.testing.EarlyCloseExpectations#policiesAndPeers")
  void abortThenPeer(ResetPolicy policy, Peer peer) {
    OkHttpTestServer server = servers.get(policy);
    try (RawHttp2Client client = server.connect()) {
      EarlyCloseExpectations.abortThenPeer(server, client, PATH, policy, peer, GRACE);
    }
  }

  /** Legal frames on a lingering stream never kill the connection, and the next call is served. */
  @ParameterizedTest(name = "{0} then {1}")
  @MethodSource("dev.abortguard.testing.EarlyCloseExpectations#policiesAndPeerFrames")
  void peerFramesOnALingeringStream(ResetPolicy policy, PeerFrame frame) {
    OkHttpTestServer server = servers.get(policy);
    try (RawHttp2Client client = server.connect()) {
      EarlyCloseExpectations.peerFrameOnLingeringStream(server, client, PATH, policy, frame,
          c -> EarlyCloseExpectations.servesAnEcho(c, PATH));
    }
  }

}
