package dev.abortguard.okhttp;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The streams of one grpc-okhttp connection as the peer sees them: grpc-okhttp forgets a stream as
 * soon as it has queued its trailers and reset, so once that reset is withheld only the guard
 * knows which streams the peer still counts as open (for MAX_CONCURRENT_STREAMS), and which frames
 * grpc-okhttp will answer with RST_STREAM(STREAM_CLOSED). A fact of this stack alone; the driver
 * keeps which streams linger. Used under the connection guard's lock.
 */
final class PeerStreams {
  /** Streams closed for the peer whose late resets from grpc-okhttp are still withheld. */
  private static final int SETTLED_REMEMBERED = 64;

  /** Streams the peer has opened and not yet seen closed. */
  private final Map<Integer, PeerStream> open = new HashMap<>();
  /**
   * Streams both sides ended (the peer's end crossing grpc-okhttp's trailers or arriving while the
   * stream lingered), and streams the guard reset: grpc-okhttp may still answer frames it read for
   * them with RST_STREAM, which the peer, whose stream is closed, must not get. The newest few are
   * enough.
   */
  private final Map<Integer, PeerStream> settled = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Integer, PeerStream> eldest) {
      return size() > SETTLED_REMEMBERED;
    }
  };
  /** The highest stream id the peer has opened: lower ids not {@link #open} are closed. */
  private int highest;

  /**
   * One stream the peer opened. grpc-okhttp forgets a stream when it queues its trailers, before
   * they reach the socket and so before the guard sees them: frames the peer sends meanwhile reach
   * grpc-okhttp, which skips them (DATA without returning its connection window) and answers each
   * with RST_STREAM(STREAM_CLOSED). Those are the newest frames passed, so the guard keeps what the
   * last few were worth to the window and gives one back per such reset, which it withholds.
   */
  static final class PeerStream {
    private static final int REMEMBERED = 8;
    boolean serverEnded;
    boolean peerEnded;
    /**
     * The peer sent a frame after its own END_STREAM: a protocol error of the peer's, which
     * grpc-okhttp answers with RST_STREAM(STREAM_CLOSED) as it should, so the guard keeps out of it.
     */
    boolean brokeItsEnd;
    /** The guard reset the stream itself (released it): the peer's frames in flight are the guard's. */
    boolean resetByGuard;
    /** Window bytes of the last frames passed to grpc-okhttp (0 for HEADERS), a ring. */
    private final int[] passed = new int[REMEMBERED];
    private int newest;
    private int count;

    void passed(int windowBytes) {
      newest = (newest + 1) % REMEMBERED;
      passed[newest] = windowBytes;
      count = Math.min(count + 1, REMEMBERED);
    }

    /** What the newest frame not yet answered was worth, or 0. */
    int takeNewest() {
      if (count == 0) {
        return 0;
      }
      int bytes = passed[newest];
      newest = (newest + REMEMBERED - 1) % REMEMBERED;
      count--;
      return bytes;
    }
  }

  /** The open stream {@code streamId}, or {@code null}. */
  PeerStream open(int streamId) {
    return open.get(streamId);
  }

  /** The peer's HEADERS open {@code streamId} if it is new: whether it was. */
  boolean opened(int streamId, boolean endStream) {
    if (streamId <= highest) {
      return false;
    }
    highest = streamId;
    PeerStream stream = new PeerStream();
    stream.peerEnded = endStream;
    open.put(streamId, stream);
    return true;
  }

  /**
   * Whether the peer's frames on {@code streamId} are the guard's to take from grpc-okhttp: the
   * stream lingers (grpc-okhttp ended and forgot it, the peer may still send), or the guard reset
   * it. Every other stream's frames reach grpc-okhttp, which answers them as it always does.
   */
  boolean absorbs(int streamId) {
    PeerStream stream = open.get(streamId);
    if (stream == null) {
      stream = settled.get(streamId);
      return stream != null && stream.resetByGuard && !stream.brokeItsEnd;
    }
    return stream.serverEnded && !stream.brokeItsEnd;
  }

  /**
   * The guard reset {@code streamId} (or let grpc-okhttp's reset carry its release): closed for the
   * peer, and remembered a while, so that the peer's frames in flight are absorbed.
   */
  void resetByGuard(int streamId) {
    PeerStream stream = open.remove(streamId);
    if (stream == null) {
      stream = new PeerStream();
    }
    stream.resetByGuard = true;
    settled.put(streamId, stream);
  }

  /** Both sides ended {@code streamId}: grpc-okhttp's late answers for it are withheld for a while. */
  void settle(int streamId) {
    PeerStream stream = open.remove(streamId);
    if (stream != null) {
      settled.put(streamId, stream);
    }
  }

  /** The settled (or guard-reset) stream {@code streamId}, or {@code null}. */
  PeerStream settled(int streamId) {
    return settled.get(streamId);
  }

  /** The peer's stream is closed, by a reset either way; whether it was open. */
  boolean remove(int streamId) {
    return open.remove(streamId) != null;
  }

  /** Streams the peer counts against its limit. */
  int openCount() {
    return open.size();
  }

  void clear() {
    open.clear();
    settled.clear();

  }
}
