package dev.abortguard.okhttp;

import static dev.abortguard.internal.Http2Frames.NO_ERROR;
import static dev.abortguard.internal.Http2Frames.STREAM_CLOSED;

import dev.abortguard.internal.GuardParts;
import dev.abortguard.internal.core.ConnectionDriver;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.okhttp.PeerStreams.PeerStream;

/**
 * Translates the HTTP/2 frames that cross one grpc-okhttp connection's socket, as {@link
 * InboundFrames} and {@link OutboundFrames} read them, into calls on the connection's {@link
 * ConnectionDriver}, and its answers into what happens to grpc-okhttp's own frames: its
 * RST_STREAM(NO_ERROR) after early trailers withheld or let through, the peer's DATA for a stream
 * grpc-okhttp has forgotten kept from it (its connection window given back), and the guard's frames
 * added ({@link #takeInjections}). Which streams the peer still has open is kept by {@link
 * PeerStreams}, a fact of grpc-okhttp alone.
 *
 * <p>Thread-safe: the socket's reader thread, grpc-okhttp's writer and the guard's timer all call
 * in; each call holds this object's lock briefly and never does I/O.
 */
final class OkHttpConnectionGuard {
  private final PeerStreams peers = new PeerStreams();
  private final OkHttpConnectionPort port;
  private final ConnectionDriver driver;
  private final Runnable whenClosed;
  private boolean closed;

  /** @param whenClosed run once, when the socket closes */
  OkHttpConnectionGuard(GuardParts parts, OkHttpTimers timers, Runnable whenClosed) {
    this.port = new OkHttpConnectionPort(this, timers, peers);
    this.driver = new ConnectionDriver(parts, port);
    this.whenClosed = whenClosed;
  }

  /** Who writes the injections: the outbound side, set once it exists. */
  synchronized void onInjectionsWaiting(Runnable injectionsWaiting) {
    port.onFramesWaiting(injectionsWaiting);
  }

  // ---- inbound: what the peer sent, seen before grpc-okhttp reads it ----

  /** The peer sent HEADERS on {@code streamId}. */
  synchronized void peerHeaders(int streamId, boolean endStream) {
    if (closed) {
      return;
    }
    PeerStream stream = peers.open(streamId);
    if (stream == null) {
      if (peers.opened(streamId, endStream)) {
        driver.peerOpened();
      } else {
        brokeItsEnd(streamId);
      }
      return;
    }
    if (stream.peerEnded) {
      stream.brokeItsEnd = true;
      return;
    }
    stream.passed(0);
    if (endStream) {
      peerEnded(streamId, stream);
    }
  }

  /**
   * The peer sent DATA on {@code streamId}.
   *
   * @return whether to keep the frame from grpc-okhttp, giving its bytes back to the connection
   *     window itself: the stream lingers or the guard reset it, so grpc-okhttp has forgotten it
   *     and would skip the frame without counting it (RFC 9113 §6.9 wants it counted). On any
   *     other stream the frame is grpc-okhttp's to answer, as it answers it without the guard.
   */
  synchronized boolean peerData(int streamId, boolean endStream, int frameLength) {
    if (closed) {
      return false;
    }
    PeerStream stream = peers.open(streamId);
    if (stream != null && stream.peerEnded) {
      stream.brokeItsEnd = true;
    } else if (stream == null) {
      brokeItsEnd(streamId);
    }
    boolean absorb = peers.absorbs(streamId);
    if (stream != null && !stream.brokeItsEnd) {
      if (!absorb) {
        stream.passed(frameLength);
      }
      if (endStream) {
        peerEnded(streamId, stream);
      }
    }
    if (absorb) {
      port.returnWindow(frameLength);
    }
    return absorb;
  }

  /** A frame on a stream the peer ended: if it is one both sides ended, its answer is stock's. */
  private void brokeItsEnd(int streamId) {
    PeerStream settled = peers.settled(streamId);
    if (settled != null && settled.peerEnded) {
      settled.brokeItsEnd = true;
    }
  }

  /** The peer reset {@code streamId}. */
  synchronized void peerReset(int streamId) {
    if (closed) {
      return;
    }
    if (peers.remove(streamId)) {
      driver.peerReset(streamId);
      return;
    }
    PeerStream settled = peers.settled(streamId);
    if (settled != null) {
      settled.peerEnded = true; // closed by the peer too: what it sends after is its own error
    }
  }

  private void peerEnded(int streamId, PeerStream stream) {
    stream.peerEnded = true;
    if (stream.serverEnded) {
      peers.settle(streamId);
      driver.peerEnded(streamId);
    }
  }

  // ---- outbound: what grpc-okhttp writes, seen before it reaches the socket ----

  /** grpc-okhttp advertised {@code MAX_CONCURRENT_STREAMS}. */
  synchronized void serverMaxConcurrentStreams(int value) {
    port.maxConcurrentStreams(value);
  }

  /** grpc-okhttp sent END_STREAM (trailers, or the last DATA of an HTTP error) on {@code streamId}. */
  synchronized void serverEnded(int streamId) {
    PeerStream stream = closed ? null : peers.open(streamId);
    if (stream == null) {
      return;
    }
    stream.serverEnded = true;
    if (stream.peerEnded) {
      // Closed on both sides; if the peer's end crossed the trailers, grpc-okhttp's reset follows.
      peers.settle(streamId);
      return;
    }
    // grpc-okhttp resets such a stream with NO_ERROR right after its trailers.
    driver.serverEnded(streamId, true);
  }

  /**
   * grpc-okhttp is about to write RST_STREAM({@code errorCode}) on {@code streamId}.
   *
   * @return whether to withhold it
   */
  synchronized boolean serverReset(int streamId, int errorCode) {
    if (closed) {
      return false;
    }
    PeerStream stream = peers.open(streamId);
    PeerStream settled = stream == null ? peers.settled(streamId) : null;
    if (errorCode == STREAM_CLOSED) {
      PeerStream answered = stream != null && stream.serverEnded ? stream : settled;
      if (answered != null && !answered.brokeItsEnd) {
        // Its answer to a frame the peer sent in good faith, read after grpc-okhttp forgot the
        // stream: give that frame's bytes back.
        port.returnWindow(answered.takeNewest());
        return true;
      }
    }
    if (errorCode == NO_ERROR) {
      switch (driver.stackResets(streamId)) {
        case CARRIES_GUARDS:
          peers.resetByGuard(streamId);
          return false;
        case WITHHELD:
          return true; // the early-close reset: the policy decides when (or whether) one goes out
        default:
          if (settled != null) {
            return true; // the peer ended the stream as the trailers left: nothing left to reset
          }
      }
    }
    if (peers.remove(streamId)) {
      driver.serverReset(streamId);
    }
    return false;
  }

  /** grpc-okhttp sent GOAWAY with {@code errorCode}. */
  synchronized void serverGoAway(int errorCode) {
    if (!closed) {
      // grpc-okhttp's shutdown(), max connection age and idle all send GOAWAY(NO_ERROR).
      driver.goAwaySent(errorCode == NO_ERROR ? ReleaseCause.SHUTDOWN : ReleaseCause.CONNECTION_ERROR);
    }
  }

  /** The socket closed: release every stream, drop unwritten resets, stop the timer. */
  synchronized void closed() {
    if (closed) {
      return;
    }
    driver.connectionClosed();
    closed = true;
    port.closed();
    peers.clear();
    whenClosed.run();
  }

  // ---- the guard's own frames ----

  /** Whether {@link #takeInjections} has frames. */
  synchronized boolean hasInjections() {
    return !closed && port.hasFrames();
  }

  /**
   * The frames to write now, in order: a connection WINDOW_UPDATE for dropped DATA, then the
   * guard's resets. The caller writes them at a frame boundary and then tells them {@link
   * Injections#written}.
   */
  synchronized Injections takeInjections() {
    return closed ? Injections.NONE : port.take();
  }

  /** For tests: streams lingering now. */
  synchronized int lingeringCount() {
    return driver.lingeringCount();
  }
}
