package dev.abortguard.grpc;

import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.REFUSED_STREAM;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.Await;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import io.grpc.InsecureServerCredentials;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Each release cause against the frames the raw client recorded: a cause that resets is counted
 * only with its RST_STREAM on the wire, GOAWAYs are told apart, and the bounds hold.
 */
@ExtendWith(LeakDetectionExtension.class)
class ReleaseCausesWireTest {
  static final Duration WAIT = Duration.ofSeconds(5);
  static final Duration LONG_GRACE = Duration.ofMinutes(1);
  static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");
  static final String BIDI = TestServers.path(TestServers.BIDI);

  static Predicate<Frame> rstOn(int stream) {
    return f -> f.type() == RST_STREAM && f.streamId() == stream;
  }

  static int lingeringCall(RawHttp2Client client) {
    int stream = client.startCall(BIDI, ABORT, false);
    Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
    assertTrue(trailers.endStream(), client.describeFrames());
    return stream;
  }

  static void unaryEcho(RawHttp2Client client) {
    int stream = client.startCall(TestServers.path(TestServers.UNARY), Map.of(), false);
    client.sendMessage(stream, "ping".getBytes(StandardCharsets.UTF_8), true);
    Frame trailers = client.awaitFrame(f -> f.streamId() == stream && f.type() == HEADERS && f.endStream(), WAIT);
    assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
  }

  /** max connection age: a GOAWAY(NO_ERROR, "max_age") that is not a server shutdown. */
  @Test
  void aMaxAgeGoAwayIsNotAShutdown() {
    try (GuardedTestServer server = GuardedTestServer.start(b -> b.resetGrace(LONG_GRACE),
            InsecureServerCredentials.create(), b -> TestServers.withEcho(b)
                .maxConnectionAge(300, TimeUnit.MILLISECONDS).maxConnectionAgeGrace(1, TimeUnit.MINUTES));
        RawHttp2Client client = server.connect()) {
      int stream = lingeringCall(client);
      Frame goAway = client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      assertEquals(NO_ERROR, goAway.errorCode(), client.describeFrames());
      Frame rst = client.awaitFrame(rstOn(stream), WAIT);
      assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
      assertEquals(1, server.released(ReleaseCause.GOAWAY, 1), client.describeFrames());
      assertEquals(0, server.released(ReleaseCause.SHUTDOWN), client.describeFrames());
    }
  }

  /** The server shutting down: GOAWAY "app_requested", counted as shutdown, reset on the wire. */
  @Test
  void aServerShutdownIsAShutdown() throws Exception {
    try (GuardedTestServer server = GuardedTestServer.start(b -> b.resetGrace(LONG_GRACE));
        RawHttp2Client client = server.connect()) {
      int stream = lingeringCall(client);
      server.server.shutdown();
      assertEquals(NO_ERROR, client.awaitFrame(rstOn(stream), WAIT).errorCode(), client.describeFrames());
      assertEquals(1, server.released(ReleaseCause.SHUTDOWN, 1), client.describeFrames());
      assertTrue(server.server.awaitTermination(5, TimeUnit.SECONDS), client.describeFrames());
      assertEquals(0, server.released(ReleaseCause.GOAWAY), client.describeFrames());
    }
  }

  /**
   * The peer closing its socket: every lingering stream is released as connection_closed, and no
   * reset is counted for a connection that is gone.
   */
  @Test
  void aClosedSocketReleasesAsConnectionClosed() {
    try (GuardedTestServer server = GuardedTestServer.start(b -> b.resetGrace(LONG_GRACE))) {
      try (RawHttp2Client client = server.connect()) {
        for (int i = 0; i < 3; i++) {
          lingeringCall(client);
        }
        client.sync();
        assertEquals(3, server.lingering(), client.describeFrames());
      }
      Await.until("lingering = 0", () -> server.lingering() == 0, WAIT);
      assertEquals(3, server.released(ReleaseCause.CONNECTION_CLOSED, 3));
      assertEquals(3, server.releasedTotal(), "nothing counted as a reset");
    }
  }

  /**
   * A connection error: the server's GOAWAY carries an error code, and whatever it counts matches
   * the wire: connection_error only with a RST_STREAM the client received.
   */
  @Test
  void aConnectionErrorCountsWhatReachedTheWire() {
    try (GuardedTestServer server = GuardedTestServer.start(b -> b.resetGrace(LONG_GRACE));
        RawHttp2Client client = server.connect()) {
      int stream = lingeringCall(client);
      client.sync();
      // A client may not open an even-numbered stream: a connection error.
      client.sendHeaders(2, Map.of(":method", "POST", ":scheme", "http", ":path", BIDI, ":authority", "x"), true);
      Frame goAway = client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      assertTrue(goAway.errorCode() != NO_ERROR, client.describeFrames());
      Await.until("lingering = 0", () -> server.lingering() == 0, WAIT);
      client.awaitClosed(WAIT);
      boolean resetSeen = client.frames(stream).stream().anyMatch(rstOn(stream));
      assertEquals(1, server.releasedTotal(), client.describeFrames());
      assertEquals(resetSeen ? 1 : 0, server.released(ReleaseCause.CONNECTION_ERROR), client.describeFrames());
      assertEquals(resetSeen ? 0 : 1, server.released(ReleaseCause.CONNECTION_CLOSED), client.describeFrames());
      assertEquals(0, server.released(ReleaseCause.SHUTDOWN), client.describeFrames());
    }
  }

  /**
   * abortguard.lingering.maxTotal bounds lingering streams across connections: past it a newly
   * early-closed stream is reset at once, and the gauge never passes it.
   */
  @Test
  void theServerWideBoundResetsNewEarlyClosesAtOnce() {
    try (GuardedTestServer server = GuardedTestServer.start(b -> b.resetGrace(LONG_GRACE).lingeringMaxTotal(3));
        RawHttp2Client first = server.connect();
        RawHttp2Client second = server.connect()) {
      lingeringCall(first);
      lingeringCall(first);
      lingeringCall(second);
      first.sync();
      second.sync();
      assertEquals(3, server.lingering(), second.describeFrames());
      int past = lingeringCall(second);
      Frame rst = second.awaitFrame(rstOn(past), WAIT);
      assertEquals(NO_ERROR, rst.errorCode(), second.describeFrames());
      assertEquals(1, server.released(ReleaseCause.TOTAL_LIMIT, 1), second.describeFrames());
      assertEquals(3, server.lingering(), second.describeFrames());
      unaryEcho(second);
    }
  }

  /**
   * maxConcurrentCallsPerConnection(2): a peer counts lingering streams against the limit, so under
   * deferred, once its open streams reach it, the eldest lingering stream is reset (NO_ERROR,
   * stream_limit) and new calls are served, never refused. Under never they keep their slots and
   * new calls are refused, as in stock grpc-java.
   */
  @Test
  void lingeringStreamsDoNotCostNewCallsTheirSlots() {
    try (GuardedTestServer server = GuardedTestServer.start(b -> b.resetGrace(LONG_GRACE),
            InsecureServerCredentials.create(), b -> TestServers.withEcho(b).maxConcurrentCallsPerConnection(2));
        RawHttp2Client client = server.connect()) {
      int first = lingeringCall(client);
      lingeringCall(client);
      assertEquals(NO_ERROR, client.awaitFrame(rstOn(first), WAIT).errorCode(), client.describeFrames());
      assertEquals(1, server.released(ReleaseCause.STREAM_LIMIT, 1), client.describeFrames());
      for (int i = 0; i < 5; i++) {
        unaryEcho(client);
      }
      lingeringCall(client);
      unaryEcho(client);
      client.assertNoFrame(f -> f.type() == RST_STREAM && f.errorCode() != NO_ERROR, Duration.ZERO);
      client.sync();
      assertTrue(server.lingering() <= 1, "at most limit - 1 lingering: " + server.lingering());
    }
    try (GuardedTestServer server = GuardedTestServer.start(b -> b.reset(ResetPolicy.NEVER),
            InsecureServerCredentials.create(), b -> TestServers.withEcho(b).maxConcurrentCallsPerConnection(2));
        RawHttp2Client client = server.connect()) {
      lingeringCall(client);
      lingeringCall(client);
      client.sync();
      int refused = client.startCall(TestServers.path(TestServers.UNARY), Map.of(), false);
      assertEquals(REFUSED_STREAM, client.awaitFrame(rstOn(refused), WAIT).errorCode(), client.describeFrames());
    }
  }
}
