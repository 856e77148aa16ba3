package dev.abortguard.testing;

import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static dev.abortguard.testing.RawHttp2Client.STREAM_CLOSED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.core.ReleaseCause;
import dev.abortguard.testing.RawHttp2Client.Frame;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

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

  private EarlyCloseExpectations() {}

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

  /** The server's frames after the trailers of an abort whose peer stays open. */
  public static void expectPolicyReset(
      ResetPolicy policy, RawHttp2Client client, int stream, Frame trailers, Duration grace) {
    switch (policy) {
      case DEFERRED: {
        client.assertNoFrame(rstOn(stream), grace.minusMillis(100));
        Frame rst = client.awaitFrame(rstOn(stream), grace.plus(WAIT));
        assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
        long afterTrailers = rst.receivedNanos() - trailers.receivedNanos();
        assertTrue(afterTrailers >= grace.toNanos() - TimeUnit.MILLISECONDS.toNanos(20),
            "reset " + TimeUnit.NANOSECONDS.toMillis(afterTrailers) + " ms after the trailers, grace "
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
