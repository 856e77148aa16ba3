package dev.abortguard.testing;

import static dev.abortguard.testing.RawHttp2Client.CANCEL;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static dev.abortguard.testing.RawHttp2Client.STREAM_CLOSED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.RawHttp2Client.Frame;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * What each reset policy must put on the wire after an early close, shared by the wire tests of
 * the grpc-java and the {@code Http2FrameCodec} adapters.
 */
public final class EarlyCloseExpectations {
  private static final Duration WAIT = Duration.ofSeconds(5);

  /** What the raw client does once it has the trailers (or, for HALF_CLOSES_FIRST, before). */
  public enum Peer {
    KEEPS_SENDING,
    IDLE,
    HALF_CLOSES_FIRST,
    RESETS_FIRST
  }

  /** A legal frame a peer may send on a stream the server has ended and the peer has not. */
  public enum PeerFrame {
    /** HEADERS with END_STREAM: request trailers, the peer's end. */
    REQUEST_TRAILERS,
    /** HEADERS without END_STREAM: malformed as a second HEADERS, worth a stream error at most. */
    HEADERS_WITHOUT_END_STREAM,
    /** More DATA. */
    DATA,
    /** DATA with END_STREAM. */
    DATA_WITH_END_STREAM
  }

  private EarlyCloseExpectations() {}

  /** Every policy with every peer behaviour: each adapter's {@link #abortThenPeer} matrix. */
  public static Stream<Arguments> policiesAndPeers() {
    List<Arguments> cases = new ArrayList<>();
    for (ResetPolicy policy : ResetPolicy.values()) {
      for (Peer peer : Peer.values()) {
        cases.add(Arguments.of(policy, peer));
      }
    }
    return cases.stream();
  }

  /** Every policy with every peer frame: each adapter's {@link #peerFrameOnLingeringStream} matrix. */
  public static Stream<Arguments> policiesAndPeerFrames() {
    List<Arguments> cases = new ArrayList<>();
    for (ResetPolicy policy : ResetPolicy.values()) {
      for (PeerFrame frame : PeerFrame.values()) {
        cases.add(Arguments.of(policy, frame));
      }
    }
    return cases.stream();
  }

  /** A call to the Bidi echo at {@code path} on {@code client}'s connection echoes and ends OK. */
  public static void servesAnEcho(RawHttp2Client client, String path) {
    int echo = client.startCall(path, Map.of(), false);
    client.sendMessage(echo, "ping".getBytes(StandardCharsets.UTF_8), true);
    Frame trailers = client.awaitFrame(f -> f.streamId() == echo && f.type() == HEADERS && f.endStream(), WAIT);
    assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
  }

  /**
   * The scenario for peer frames on a lingering stream, shared by both adapters: an aborted call
   * that the client leaves open, then {@code frame} on it. No frame kills the connection: no
   * GOAWAY, and {@code servesACall} still succeeds on the same connection. Peer ends release the
   * stream as {@code peer_end_stream} (under {@code immediate} it was reset already), and nothing
   * is left lingering once the peer ended it.
   */
  public static void peerFrameOnLingeringStream(GuardMeters server, RawHttp2Client client, String path,
      ResetPolicy policy, PeerFrame frame, java.util.function.Consumer<RawHttp2Client> servesACall) {
    double peerEndsBefore = server.released(ReleaseCause.PEER_END_STREAM);
    int stream = client.startCall(path, Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"), false);
    Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
    assertTrailersOnly(client, stream, trailers);
    client.sync();
    boolean lingers = policy != ResetPolicy.IMMEDIATE;
    assertEquals(lingers ? 1 : 0, server.lingering(), client.describeFrames());

    switch (frame) {
      case REQUEST_TRAILERS:
        client.sendHeaders(stream, Map.of("x-trailer", "yes"), true);
        break;
      case HEADERS_WITHOUT_END_STREAM:
        client.sendHeaders(stream, Map.of("x-second-headers", "yes"), false);
        break;
      case DATA:
        client.sendMessage(stream, "after the trailers".getBytes(StandardCharsets.UTF_8), false);
        break;
      case DATA_WITH_END_STREAM:
        client.sendMessage(stream, "last".getBytes(StandardCharsets.UTF_8), true);
        break;
      default:
        throw new AssertionError(frame);
    }
    client.sync();
    client.assertNoFrame(f -> f.type() == RawHttp2Client.GOAWAY, Duration.ZERO);
    servesACall.accept(client);
    client.assertNoFrame(f -> f.type() == RawHttp2Client.GOAWAY, Duration.ZERO);
    // At most a stream error, and only on that stream.
    client.assertNoFrame(f -> f.type() == RST_STREAM && f.streamId() != stream, Duration.ZERO);

    boolean peerEnded = frame == PeerFrame.REQUEST_TRAILERS || frame == PeerFrame.DATA_WITH_END_STREAM;
    if (lingers && peerEnded) {
      assertEquals(peerEndsBefore + 1, server.released(ReleaseCause.PEER_END_STREAM, peerEndsBefore + 1),
          "the peer's end releases the stream\n" + client.describeFrames());
      client.assertNoFrame(rstOn(stream), Duration.ZERO);
    }
    if (lingers && !peerEnded) {
      // Still lingering, or reset by a stream error: either way the connection lives. Let the
      // peer end it now.
      client.sendData(stream, new byte[0], true);
      client.sync();
    }
    assertEquals(0, server.lingering(), "nothing left lingering\n" + client.describeFrames());
  }

  /** Matches RST_STREAM frames on one stream. */
  public static Predicate<Frame> rstOn(int stream) {
    return f -> f.type() == RST_STREAM && f.streamId() == stream;
  }

  /** The cause a stream aborted under {@code policy} is released with, when {@code peer} behaves so. */
  public static ReleaseCause expectedCause(ResetPolicy policy, Peer peer) {
    if (policy == ResetPolicy.IMMEDIATE) {
      return ReleaseCause.IMMEDIATE;
    }
    switch (peer) {
      case RESETS_FIRST:
        return ReleaseCause.PEER_RESET;
      case HALF_CLOSES_FIRST:
        return ReleaseCause.PEER_END_STREAM; // counted 0 times: the stream never lingers
      default:
        return policy == ResetPolicy.DEFERRED ? ReleaseCause.GRACE_EXPIRED : ReleaseCause.PEER_END_STREAM;
    }
  }

  /**
   * The whole scenario both adapters' policy matrices run: {@code client} starts a call on {@code
   * path} that the server aborts with PERMISSION_DENIED, behaves as {@code peer}, and the frames and
   * the server's meters must be what {@code policy} promises.
   */
  public static void abortThenPeer(
      GuardMeters server, RawHttp2Client client, String path, ResetPolicy policy, Peer peer, Duration grace) {
    ReleaseCause cause = expectedCause(policy, peer);
    double releasedBefore = server.releasedTotal();
    double causeBefore = server.released(cause);
    int stream = client.startCall(path, Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"),
        peer == Peer.HALF_CLOSES_FIRST);
    Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
    assertTrailersOnly(client, stream, trailers);

    switch (peer) {
      case KEEPS_SENDING:
        client.sync(); // the server has the trailers out: the DATA comes after them
        for (int i = 0; i < 3; i++) {
          client.sendMessage(stream, ("after trailers " + i).getBytes(StandardCharsets.UTF_8), false);
        }
        expectPolicyReset(policy, client, stream, trailers, grace);
        break;
      case IDLE:
        expectPolicyReset(policy, client, stream, trailers, grace);
        break;
      case HALF_CLOSES_FIRST:
        // The stream closed with the trailers: nothing lingers, nothing is reset.
        client.assertNoFrame(rstOn(stream), grace.plusMillis(200));
        break;
      case RESETS_FIRST:
        client.sendRstStream(stream, CANCEL);
        if (policy == ResetPolicy.IMMEDIATE) {
          expectImmediateReset(client, stream, trailers);
        } else {
          // Nothing at all from the server after the trailers.
          client.assertNoFrame(f -> f.streamId() == stream && f != trailers, grace.plusMillis(200));
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
      client.sync();
      client.assertNoFrame(rstOn(stream), Duration.ZERO);
    }
    client.sync();
    client.assertNoFrame(f -> f.type() == RST_STREAM && f.errorCode() == CANCEL, Duration.ZERO);
    assertEquals(0, server.lingering(), "lingering\n" + client.describeFrames());
    double expectedReleases = peer == Peer.HALF_CLOSES_FIRST ? 0 : 1;
    assertEquals(expectedReleases, server.releasedTotal() - releasedBefore,
        "released, all causes\n" + client.describeFrames());
    assertEquals(expectedReleases, server.released(cause) - causeBefore,
        "released{cause=" + cause.tagValue() + "}\n" + client.describeFrames());
  }

  /** One HEADERS frame with END_STREAM, the abort's status, and nothing before it on the stream. */
  public static void assertTrailersOnly(RawHttp2Client client, int stream, Frame trailers) {
    String frames = client.describeFrames();
    assertTrue(trailers.endStream(), "trailers-only HEADERS carries END_STREAM\n" + frames);
    assertEquals("200", trailers.header(":status"), frames);
    assertEquals("application/grpc", trailers.header("content-type"), frames);
    assertEquals("7", trailers.header("grpc-status"), frames);
    assertEquals(TestServers.ABORT_DESCRIPTION, trailers.header("grpc-message"), frames);
    assertEquals(trailers, client.frames(stream).get(0), "the trailers are the stream's first frame\n" + frames);
  }

  /** The server's frames after the trailers of an abort whose peer stays open. */
  public static void expectPolicyReset(
      ResetPolicy policy, RawHttp2Client client, int stream, Frame trailers, Duration grace) {
    switch (policy) {
      case DEFERRED: {
        Frame rst = client.awaitFrame(rstOn(stream), grace.plus(WAIT));
        assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
        // Measured from the client's HEADERS, which the grace cannot precede: a bound that holds
        // however late the client's reader ran (the trailers' arrival time would not).
        long afterStart = rst.receivedNanos() - client.firstSentNanos(stream);
        assertTrue(afterStart >= grace.toNanos(),
            "reset " + TimeUnit.NANOSECONDS.toMillis(afterStart) + " ms after the call started, grace "
                + grace.toMillis() + " ms\n" + client.describeFrames());
        client.sync();
        assertEquals(List.of(trailers, rst), client.frames(stream),
            "trailers, then one RST(NO_ERROR) and nothing else\n" + client.describeFrames());
        break;
      }
      case NEVER:
        client.assertNoFrame(rstOn(stream), grace.multipliedBy(2));
        assertEquals(List.of(trailers), client.frames(stream), client.describeFrames());
        break;
      case IMMEDIATE:
        expectImmediateReset(client, stream, trailers);
        break;
      default:
        throw new AssertionError(policy);
    }
  }

  /** RST(NO_ERROR) in the trailers' read batch, and no other reset but Netty's STREAM_CLOSED. */
  public static void expectImmediateReset(RawHttp2Client client, int stream, Frame trailers) {
    Frame rst = client.awaitFrame(rstOn(stream), WAIT);
    assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
    assertEquals(trailers.readBatch(), rst.readBatch(),
        "RST_STREAM must leave in the trailers' flush\n" + client.describeFrames());
    // DATA the peer sends after the reset is answered by Netty with RST(STREAM_CLOSED); the guard
    // resets once.
    client.assertNoFrame(f -> f.type() == RST_STREAM && f.streamId() == stream && f != rst
        && f.errorCode() != STREAM_CLOSED, Duration.ofMillis(100));
  }
}
