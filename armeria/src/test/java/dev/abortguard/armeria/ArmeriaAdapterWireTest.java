package dev.abortguard.armeria;

import static dev.abortguard.testing.EarlyCloseExpectations.assertTrailersOnly;
import static dev.abortguard.testing.EarlyCloseExpectations.rstOn;
import static dev.abortguard.testing.RawHttp2Client.CANCEL;
import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static dev.abortguard.testing.RawHttp2Client.WINDOW_UPDATE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.linecorp.armeria.common.SessionProtocol;
import com.linecorp.armeria.server.Server;
import com.linecorp.armeria.server.ServerBuilder;
import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.EarlyCloseExpectations;
import dev.abortguard.testing.EarlyCloseExpectations.Peer;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.NullSource;

/**
 * What the Armeria adapter does beyond the per-policy expectations: the bounds (per-connection cap,
 * MAX_CONCURRENT_STREAMS, server stop), TLS and shared HTTP/HTTPS ports, the flow-control window
 * while streams linger, the meters, and how {@link AbortGuardArmeria#install} treats repeats.
 */
@ExtendWith(LeakDetectionExtension.class)
class ArmeriaAdapterWireTest {
  static final Duration WAIT = Duration.ofSeconds(5);
  static final String PATH = TestServers.path(TestServers.BIDI);
  static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");

  @AfterAll
  static void awaitServersStopped() {
    ArmeriaTestServer.awaitAllStopped();
  }

  /** An aborted call the client leaves open: its stream lingers. */
  static int lingeringCall(RawHttp2Client client) {
    int stream = client.startCall(PATH, ABORT, false);
    assertTrailersOnly(client, stream, client.awaitFrame(stream, HEADERS, WAIT));
    return stream;
  }

  @Test
  void theOldestLingeringStreamIsResetPastTheCap() {
    try (ArmeriaTestServer server = ArmeriaTestServer.start(
            b -> b.reset(ResetPolicy.DEFERRED).lingeringMax(2).resetGrace(Duration.ofMinutes(1)));
        RawHttp2Client client = server.connect()) {
      int first = lingeringCall(client);
      int second = lingeringCall(client);
      client.sync();
      client.assertNoFrame(f -> f.type() == RST_STREAM, Duration.ZERO);
      assertEquals(2, server.lingering(), client.describeFrames());

      int third = lingeringCall(client);
      Frame rst = client.awaitFrame(rstOn(first), WAIT);
      assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
      client.sync();
      client.assertNoFrame(rstOn(second).or(rstOn(third)), Duration.ZERO);
      client.assertNoFrame(f -> f.type() == RST_STREAM && f.errorCode() == CANCEL, Duration.ZERO);
      assertEquals(1, server.released(ReleaseCause.OVERFLOW, 1), client.describeFrames());
      assertEquals(2, server.lingering(), client.describeFrames());
    }
  }

  /**
   * With {@code http2MaxStreamsPerConnection(4)}, once the peer's open streams (lingering ones
   * included) reach 4, the eldest lingering stream is reset ({@code stream_limit}) so that a new
   * call always finds a slot; under {@code never} they keep their slots, as in stock servers.
   */
  @Test
  void lingeringStreamsDoNotCostNewCallsTheirSlots() {
    try (ArmeriaTestServer server = ArmeriaTestServer.start(
            b -> b.reset(ResetPolicy.DEFERRED).resetGrace(Duration.ofMinutes(1)),
            (b, guard) -> b.http2MaxStreamsPerConnection(4));
        RawHttp2Client client = server.connect()) {
      int eldest = lingeringCall(client);
      for (int i = 1; i < 4; i++) {
        lingeringCall(client);
      }
      Frame rst = client.awaitFrame(rstOn(eldest), WAIT);
      assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
      for (int i = 0; i < 5; i++) {
        lingeringCall(client);
        ArmeriaEarlyCloseWireTest.servesAnEcho(client);
      }
      client.sync();
      client.assertNoFrame(f -> f.type() == RST_STREAM && f.errorCode() != NO_ERROR, Duration.ZERO);
      // Nine aborted calls: each either still lingers or was reset to make room.
      double made = server.released(ReleaseCause.STREAM_LIMIT);
      assertTrue(made >= 6, made + " released for stream_limit\n" + client.describeFrames());
      assertEquals(9, made + server.lingering(), client.describeFrames());
    }
  }

  /**
   * Stopping the server sends GOAWAY; the guard then resets every lingering stream with NO_ERROR
   * ({@code shutdown}), and the connection closes without waiting for the peer.
   */
  @Test
  void deferredResetsLingeringStreamsWhenTheServerStops() throws Exception {
    ArmeriaTestServer server = ArmeriaTestServer.start(
        b -> b.reset(ResetPolicy.DEFERRED).resetGrace(Duration.ofMinutes(1)));
    try (RawHttp2Client client = server.connect()) {
      int first = lingeringCall(client);
      int second = lingeringCall(client);
      client.sync();
      assertEquals(2, server.lingering(), client.describeFrames());

      long started = System.nanoTime();
      CompletableFuture<Void> stopped = server.stop();
      Frame goAway = client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      assertEquals(NO_ERROR, goAway.errorCode(), client.describeFrames());
      for (int stream : new int[] {first, second}) {
        Frame rst = client.awaitFrame(rstOn(stream), WAIT);
        assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
        assertTrue(rst.receivedNanos() >= goAway.receivedNanos(), "reset after GOAWAY\n" + client.describeFrames());
      }
      assertTrue(client.awaitClosed(WAIT), client.describeFrames());
      stopped.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      System.out.println("[armeria deferred] stop with 2 lingering streams took " + tookMillis
          + " ms (Armeria drains a connection for 1 s after its first GOAWAY)");
      client.assertNoFrame(f -> f.type() == RST_STREAM && f.errorCode() != NO_ERROR, Duration.ZERO);
      assertEquals(2, server.released(ReleaseCause.SHUTDOWN, 2), client.describeFrames());
      assertEquals(2, server.releasedTotal(), client.describeFrames());
      assertEquals(0, server.lingering(), client.describeFrames());
    } finally {
      server.close();
    }
  }

  /**
   * Under {@code never} the guard resets nothing at stop either. Armeria itself ends the connection
   * after its drain (it closes every open stream without a reset, sends its last GOAWAY and closes),
   * so a lingering stream does not hold the stop up, and its release counts as {@code
   * connection_closed}, not as the peer's end.
   */
  @Test
  void neverResetsNothingWhenTheServerStops() throws Exception {
    ArmeriaTestServer server = ArmeriaTestServer.start(b -> b.reset(ResetPolicy.NEVER));
    try (RawHttp2Client client = server.connect()) {
      int stream = lingeringCall(client);
      client.sync();
      CompletableFuture<Void> stopped = server.stop();
      client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
      assertTrue(client.awaitClosed(WAIT), client.describeFrames());
      stopped.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      client.assertNoFrame(rstOn(stream), Duration.ZERO);
      assertEquals(0, server.lingering(), client.describeFrames());
      assertEquals(1, server.released(ReleaseCause.CONNECTION_CLOSED), client.describeFrames());
      assertEquals(1, server.releasedTotal(), client.describeFrames());
    } finally {
      server.close();
    }
  }

  /** Over TLS (ALPN h2) the adapter attaches the same way: no CANCEL, NO_ERROR after the grace. */
  @Test
  void tlsConnectionsAreGuardedToo() {
    Duration grace = Duration.ofMillis(300);
    try (ArmeriaTestServer server = ArmeriaTestServer.startTls(b -> b.reset(ResetPolicy.DEFERRED).resetGrace(grace));
        RawHttp2Client client = server.connect()) {
      for (Peer peer : new Peer[] {Peer.KEEPS_SENDING, Peer.IDLE, Peer.RESETS_FIRST}) {
        EarlyCloseExpectations.abortThenPeer(server, client, PATH, ResetPolicy.DEFERRED, peer, grace);
      }
    }
  }

  /** Stock Armeria over TLS, for comparison: CANCEL after the trailers. */
  @Test
  void stockTlsSendsCancel() {
    try (ArmeriaTestServer server = ArmeriaTestServer.startTls(null);
        RawHttp2Client client = server.connect()) {
      int stream = lingeringCall(client);
      assertEquals(CANCEL, client.awaitFrame(rstOn(stream), WAIT).errorCode(), client.describeFrames());
    }
  }

  /**
   * A port that speaks both HTTP and HTTPS (Armeria detects the protocol per connection, after the
   * pipeline customizer ran): both kinds of connection are guarded.
   */
  @ParameterizedTest
  @EnumSource(value = SessionProtocol.class, names = {"HTTP", "HTTPS"})
  void aSharedHttpAndHttpsPortIsGuardedForBoth(SessionProtocol protocol) throws Exception {
    Duration grace = Duration.ofMillis(300);
    try (ArmeriaTestServer server = ArmeriaTestServer.startTls(b -> b.reset(ResetPolicy.DEFERRED).resetGrace(grace),
            SessionProtocol.HTTP, SessionProtocol.HTTPS);
        RawHttp2Client client = protocol == SessionProtocol.HTTPS
            ? RawHttp2Client.connectTls("127.0.0.1", server.port())
            : RawHttp2Client.connect("127.0.0.1", server.port())) {
      EarlyCloseExpectations.abortThenPeer(server, client, PATH, ResetPolicy.DEFERRED, Peer.IDLE, grace);
    }
  }

  /**
   * DATA the peer sends on lingering streams is consumed (Armeria, its request over, would hold it
   * until the stream closes): uploads three times the connection window come back in connection
   * WINDOW_UPDATEs, and a new call on the same connection still echoes 64 KiB.
   */
  @Test
  void uploadsToLingeringStreamsDoNotShrinkTheConnectionWindow() {
    int streams = 12;
    int upload = 256 * 1024;
    try (ArmeriaTestServer server = ArmeriaTestServer.start(
            b -> b.reset(ResetPolicy.DEFERRED).resetGrace(Duration.ofMinutes(1)));
        RawHttp2Client client = server.connect()) {
      client.sync();
      long initialGrant = connectionWindowReturned(client); // Armeria widens its window to 1 MiB at once
      for (int i = 0; i < streams; i++) {
        int stream = lingeringCall(client);
        client.sync(); // Armeria has finished the request
        client.sendData(stream, new byte[upload], false);
      }
      client.sync();
      long returned = connectionWindowReturned(client) - initialGrant;
      long sent = (long) streams * upload;
      assertTrue(returned >= sent - (initialGrant + 65_535),
          "connection WINDOW_UPDATEs returned " + returned + " of " + sent + " bytes sent to lingering streams\n"
              + client.describeFrames());
      assertEquals(streams, server.lingering(), client.describeFrames());
      client.assertNoFrame(f -> f.type() == RST_STREAM, Duration.ZERO);

      byte[] payload = new byte[64 * 1024];
      new Random(42).nextBytes(payload);
      int echo = client.startCall(PATH, Map.of(), false);
      client.sendMessage(echo, payload, true);
      Frame trailers = client.awaitFrame(f -> f.streamId() == echo && f.type() == HEADERS && f.endStream(), WAIT);
      assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
      byte[] echoed = client.receivedData(echo);
      assertEquals(payload.length + 5, echoed.length, client.describeFrames());
      assertEquals(ByteBuffer.wrap(payload), ByteBuffer.wrap(echoed, 5, payload.length), "echoed bytes");
    }
  }

  /**
   * The guard's interceptor counts the aborts it sees ({@code grpc.server.aborts}), and the adapter
   * the early-closed streams and their releases, in one registry.
   */
  @Test
  void abortsAndLingeringStreamsAreCounted() {
    try (ArmeriaTestServer server = ArmeriaTestServer.start(
            b -> b.reset(ResetPolicy.DEFERRED).resetGrace(Duration.ofMinutes(1)));
        RawHttp2Client client = server.connect()) {
      int stream = lingeringCall(client);
      client.sync();
      assertEquals(1, server.lingering(), client.describeFrames());
      client.sendRstStream(stream, CANCEL);
      client.sync();
      assertEquals(1, server.released(ReleaseCause.PEER_RESET, 1), client.describeFrames());
      assertEquals(1, server.abortsReaching(1, "service", TestServers.SERVICE, "method", "Bidi",
          "methodType", "BIDI_STREAMING", "statusCode", "PERMISSION_DENIED", "peer", "streaming",
          "response", "trailers_only"), server.registry.getMetersAsString());
      assertEquals(0, server.lingering(), client.describeFrames());
    }
  }

  /**
   * Armeria answers an abort before the first message trailers-only even after {@code sendHeaders},
   * dropping those headers; with the guard's interceptor their metadata reaches the client in the
   * trailers, and the abort counts as mitigated ({@code trailers_only}). ({@code null}: stock.)
   */
  @ParameterizedTest(name = "{0}")
  @NullSource
  @EnumSource(value = ResetPolicy.class, names = "DEFERRED")
  void eagerHeadersEndUpInTheTrailers(ResetPolicy policy) {
    try (ArmeriaTestServer server = ArmeriaTestServer.start(policy == null ? null : b -> b.reset(policy));
        RawHttp2Client client = server.connect()) {
      int stream = client.startCall(ArmeriaTestServer.HEADERS_FIRST_PATH, Map.of(), false);
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      assertTrue(trailers.endStream(), client.describeFrames());
      assertEquals("7", trailers.header("grpc-status"), client.describeFrames());
      assertEquals(policy == null ? null : "yes", trailers.header("x-early"), client.describeFrames());
      if (policy != null) {
        assertEquals(1, server.mitigatedReaching(1, "mitigation", "trailers_only"),
            server.registry.getMetersAsString());
        assertEquals(1, server.abortsReaching(1, "response", "trailers_only"), server.registry.getMetersAsString());
      }
      client.sendData(stream, new byte[0], true);
    }
  }

  @Test
  void installingTheSameGuardTwiceChangesNothingAndAnotherGuardIsRefused() {
    AbortGuard guard = AbortGuard.builder().properties(name -> null).build();
    ServerBuilder builder = Server.builder();
    assertSame(builder, AbortGuardArmeria.install(guard, builder));
    assertSame(builder, AbortGuardArmeria.install(guard, builder));
    AbortGuard other = AbortGuard.builder().properties(name -> null).build();
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> AbortGuardArmeria.install(other, builder));
    assertTrue(e.getMessage().contains("another AbortGuard"), e.getMessage());
  }

  /** A guard installed twice on one server still resets once, through one adapter per connection. */
  @Test
  void aGuardInstalledTwiceGuardsEachConnectionOnce() {
    try (ArmeriaTestServer server = ArmeriaTestServer.start(
            b -> b.reset(ResetPolicy.IMMEDIATE), (b, guard) -> AbortGuardArmeria.install(guard, b));
        RawHttp2Client client = server.connect()) {
      int stream = lingeringCall(client);
      Frame rst = client.awaitFrame(rstOn(stream), WAIT);
      assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
      client.sync();
      client.assertNoFrame(f -> f.type() == RST_STREAM && f != rst, Duration.ofMillis(100));
      assertEquals(1, server.released(ReleaseCause.IMMEDIATE, 1), client.describeFrames());
    }
  }

  /** The sum of the increments of connection-level WINDOW_UPDATEs received so far. */
  static long connectionWindowReturned(RawHttp2Client client) {
    return client.frames().stream()
        .filter(f -> f.type() == WINDOW_UPDATE && f.streamId() == 0)
        .mapToLong(Frame::windowIncrement)
        .sum();
  }
}
