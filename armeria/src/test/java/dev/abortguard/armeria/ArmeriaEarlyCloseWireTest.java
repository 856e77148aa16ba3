package dev.abortguard.armeria;

import static dev.abortguard.testing.EarlyCloseExpectations.assertTrailersOnly;
import static dev.abortguard.testing.EarlyCloseExpectations.rstOn;
import static dev.abortguard.testing.RawHttp2Client.CANCEL;
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
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Armeria's {@code GrpcService} on the wire, stock and guarded by {@link AbortGuardArmeria}, seen
 * through a raw HTTP/2 client that records every frame: the shared per-policy expectations the
 * other adapters meet ({@link EarlyCloseExpectations}), and stock Armeria's RST_STREAM(CANCEL) as
 * the baseline.
 */
@ExtendWith(LeakDetectionExtension.class)
class ArmeriaEarlyCloseWireTest {
  static final Duration GRACE = Duration.ofMillis(400);
  static final Duration WAIT = Duration.ofSeconds(5);
  static final String PATH = TestServers.path(TestServers.BIDI);
  static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");

  /** Armeria without the guard's adapter. */
  enum Stock {
    NOT_INSTALLED,
    DISABLED_GUARD
  }

  static final Map<ResetPolicy, ArmeriaTestServer> servers = new EnumMap<>(ResetPolicy.class);

  @BeforeAll
  static void startServers() {
    for (ResetPolicy policy : ResetPolicy.values()) {
      servers.put(policy, ArmeriaTestServer.start(b -> b.reset(policy).resetGrace(GRACE)));
    }
  }

  @AfterAll
  static void stopServers() {
    servers.values().forEach(ArmeriaTestServer::close);
    ArmeriaTestServer.awaitAllStopped();
  }

  /**
   * Stock Armeria resets a stream it has ended with CANCEL once request and response are both
   * complete: trailers-only, then RST_STREAM(CANCEL) within a millisecond or so. Prints how close
   * behind the trailers it arrives.
   */
  @ParameterizedTest
  @EnumSource(Stock.class)
  void stockArmeriaSendsCancelRightAfterTheTrailers(Stock stock) {
    try (ArmeriaTestServer server = stock == Stock.NOT_INSTALLED
            ? ArmeriaTestServer.startStock()
            : ArmeriaTestServer.start(b -> b.enabled(false));
        RawHttp2Client client = server.connect()) {
      int samples = 20;
      int sameBatch = 0;
      List<Long> gapsMicros = new ArrayList<>();
      for (int i = 0; i < samples; i++) {
        int stream = client.startCall(PATH, ABORT, false);
        Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
        assertTrailersOnly(client, stream, trailers);
        Frame rst = client.awaitFrame(rstOn(stream), Duration.ofMillis(500));
        assertEquals(CANCEL, rst.errorCode(), client.describeFrames());
        long gap = rst.receivedNanos() - trailers.receivedNanos();
        assertEquals(List.of(trailers, rst), client.frames(stream), "trailers then CANCEL, nothing else\n"
            + client.describeFrames());
        if (rst.readBatch() == trailers.readBatch()) {
          sameBatch++;
        }
        gapsMicros.add(TimeUnit.NANOSECONDS.toMicros(gap));
      }
      System.out.printf("[armeria %s] stock RST_STREAM(CANCEL) after trailers-only: %d/%d in the trailers' read"
          + " batch; gaps (us) %s%n", stock, sameBatch, samples, gapsMicros);
      assertTrue(server.registry.getMeters().isEmpty(), "no guard meters: " + server.registry.getMeters());
    }
  }

  @ParameterizedTest(name = "{0} peer {1}")
  @MethodSource("dev.abortguard.testing.EarlyCloseExpectations#policiesAndPeers")
  void abortThenPeer(ResetPolicy policy, Peer peer) {
    ArmeriaTestServer server = servers.get(policy);
    try (RawHttp2Client client = server.connect()) {
      EarlyCloseExpectations.abortThenPeer(server, client, PATH, policy, peer, GRACE);
    }
  }

  /** Legal frames on a lingering stream never kill the connection, and the next call is served. */
  @ParameterizedTest(name = "{0} then {1}")
  @MethodSource("dev.abortguard.testing.EarlyCloseExpectations#policiesAndPeerFrames")
  void peerFramesOnALingeringStream(ResetPolicy policy, PeerFrame frame) {
    ArmeriaTestServer server = servers.get(policy);
    try (RawHttp2Client client = server.connect()) {
      EarlyCloseExpectations.peerFrameOnLingeringStream(server, client, PATH, policy, frame,
          ArmeriaEarlyCloseWireTest::servesAnEcho);
    }
  }

  /** A Bidi call on {@code client}'s connection echoes its message and ends OK. */
  static void servesAnEcho(RawHttp2Client client) {
    EarlyCloseExpectations.servesAnEcho(client, PATH);
  }
}
