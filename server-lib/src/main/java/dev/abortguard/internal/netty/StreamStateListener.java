package dev.abortguard.internal.netty;

import dev.abortguard.internal.Internal;
import dev.abortguard.internal.core.ConnectionDriver;
import dev.abortguard.internal.core.ReleaseCause;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Stream;
import java.nio.charset.StandardCharsets;

/**
 * Reports an HTTP/2 connection's stream state changes to its {@link ConnectionDriver}: the server
 * ending a stream the peer still has open, streams closing, and GOAWAY going out. Peer resets are
 * not visible here; each adapter reports those from the frame it reads.
 */
@Internal
public final class StreamStateListener extends Http2ConnectionAdapter {
  /** The debug data grpc-java's GOAWAY carries when the application shuts the server down. */
  private static final String GRPC_SHUTDOWN = "app_requested";

  /** Told of each early close, after the driver: what the adapter's own records need to know. */
  public interface EarlyCloses {
    /** Nothing to tell. */
    EarlyCloses NONE = (stream, resetWithheld) -> { };

    /** The server ended {@code stream} while the peer had not; {@code resetWithheld} as the driver decided. */
    void ended(Http2Stream stream, boolean resetWithheld);
  }

  private final ConnectionDriver driver;
  private final Runnable beforeFirstEarlyClose;
  private final EarlyCloses earlyCloses;
  private boolean sawEarlyClose;

  /**
   * Reports to {@code driver}, then tells {@code earlyCloses}.
   *
   * @param beforeFirstEarlyClose run once, before the first early close is reported (adapters
   *     whose handler needs a flush hook install it there)
   */
  public StreamStateListener(ConnectionDriver driver, Runnable beforeFirstEarlyClose, EarlyCloses earlyCloses) {
    this.driver = driver;
    this.beforeFirstEarlyClose = beforeFirstEarlyClose;
    this.earlyCloses = earlyCloses;
  }

  @Override
  public void onStreamActive(Http2Stream stream) {
    driver.peerOpened(); // a server opens no streams of its own
  }

  @Override
  public void onStreamHalfClosed(Http2Stream stream) {
    if (stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
      if (!sawEarlyClose) {
        sawEarlyClose = true;
        beforeFirstEarlyClose.run();
      }
      earlyCloses.ended(stream, driver.serverEnded(stream.id()));
    }
  }

  @Override
  public void onStreamClosed(Http2Stream stream) {
    // The guard's own resets and peer resets were reported before the stream closed; a reset
    // sent here came from the server's own stack, anything else is the peer's END_STREAM.
    if (stream.isResetSent()) {
      driver.serverReset(stream.id());
    } else {
      driver.peerEnded(stream.id());
    }
  }

  @Override
  public void onGoAwaySent(int lastStreamId, long errorCode, ByteBuf debugData) {
    driver.goAwaySent(goAwayCause(errorCode, debugData));
  }

  static ReleaseCause goAwayCause(long errorCode, ByteBuf debugData) {
    if (errorCode != Http2Error.NO_ERROR.code()) {
      return ReleaseCause.CONNECTION_ERROR;
    }
    boolean shutdown = debugData != null
        && debugData.readableBytes() == GRPC_SHUTDOWN.length()
        && GRPC_SHUTDOWN.equals(debugData.toString(debugData.readerIndex(), GRPC_SHUTDOWN.length(), StandardCharsets.US_ASCII));
    return shutdown ? ReleaseCause.SHUTDOWN : ReleaseCause.GOAWAY;
  }
}
