package dev.abortguard.internal.vertx;

import dev.abortguard.internal.GuardParts;
import dev.abortguard.internal.Internal;
import dev.abortguard.internal.core.ConnectionDriver;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.internal.netty.HandlerPlace;
import dev.abortguard.internal.netty.LateFrameFilter;
import dev.abortguard.internal.netty.NettyConnectionPort;
import dev.abortguard.internal.netty.DataAbsorbingPeerFrames;
import dev.abortguard.internal.netty.StreamStateListener;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.AttributeKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Attaches a {@link ConnectionDriver} to one Vert.x HTTP/2 server connection, through the Netty
 * {@link Http2ConnectionHandler} Vert.x runs it on: the connection's stream events drive it (the
 * shared {@link StreamStateListener}), the guard's resets go out through the handler's encoder
 * ({@link NettyConnectionPort}), peer resets are read before Vert.x's own frame listener, and
 * Vert.x's server shutdown is told apart from any other GOAWAY.
 *
 * <p>Vert.x never resets a stream after its trailers, so there is no stack reset to withhold: the
 * guard only adds what the policy decides. DATA the peer sends on a stream the server has ended is
 * consumed here at once rather than handed to a finished call (stock Vert.x returns that window
 * only as its request queue drains); its END_STREAM still reaches Vert.x, so the request ends as
 * stock.
 */
@Internal
public final class VertxConnectionAdapter {
  private static final AttributeKey<VertxConnectionAdapter> ATTACHED =
      AttributeKey.valueOf("dev.abortguard.vertx.adapter");
  private static final String SHUTDOWN_WATCH = "abortguard-vertx-shutdown-watch";

  private final GuardParts parts;
  private final Http2ConnectionHandler handler;
  private final ConnectionDriver driver;
  private final HandlerPlace handlerPlace;
  /** Vert.x's handler counts its answers to late frames (Netty's MadeYouReset limit, 200 per 30 s). */
  private final LateFrameFilter lateFrames;
  /** The call layer's record of each stream's call, by stream id, until the stream closes. */
  private final Map<Integer, CallRecord> calls = new ConcurrentHashMap<>();

  private VertxConnectionAdapter(Channel channel, Http2ConnectionHandler handler, GuardParts parts) {
    this.parts = parts;
    this.handler = handler;
    this.handlerPlace = new HandlerPlace(channel, handler);
    this.lateFrames = new LateFrameFilter(handler);
    this.driver = NettyConnectionPort.driver(parts, channel, handler, handlerPlace, lateFrames);
  }

  /**
   * The adapter of {@code channel}, attached now if it has none (on the event loop), or {@code null}
   * for a connection that is not HTTP/2.
   *
   * @throws IllegalArgumentException if another guard's adapter is on the connection already
   */
  public static VertxConnectionAdapter attach(Channel channel, GuardParts parts) {
    VertxConnectionAdapter present = channel.attr(ATTACHED).get();
    if (present == null) {
      Http2ConnectionHandler handler = channel.pipeline().get(Http2ConnectionHandler.class);
      if (handler == null) {
        return null; // HTTP/1.x: nothing of the guard's business
      }
      VertxConnectionAdapter adapter = new VertxConnectionAdapter(channel, handler, parts);
      present = channel.attr(ATTACHED).setIfAbsent(adapter);
      if (present == null) {
        if (channel.eventLoop().inEventLoop()) {
          adapter.start(channel);
        } else {
          channel.eventLoop().execute(() -> adapter.start(channel));
        }
        return adapter;
      }
    }
    if (present.parts != parts) {
      throw new IllegalArgumentException("this Vert.x connection is guarded by another AbortGuard already: one guard "
          + "per server (install the same guard on every HttpServer that shares connections)");
    }
    return present;
  }

  /** Hooks into the connection, taking the streams it already has into account. On the event loop. */
  private void start(Channel channel) {
    if (!channel.isActive()) {
      return;
    }
    Http2Connection connection = handler.connection();
    connection.addListener(new StreamStateListener(driver, () -> handlerPlace.addFlushHook(driver),
        (stream, withheld) -> {
          CallRecord call = calls.get(stream.id());
          if (call != null) {
            call.earlyClosed(withheld);
          }
        }));
    connection.addListener(new Http2ConnectionAdapter() {
      @Override
      public void onStreamRemoved(Http2Stream stream) {
        calls.remove(stream.id());
      }
    });
    // Vert.x sets its own frame listener when it reads the peer's first SETTINGS, before it tells
    // anyone of the connection; every entry point of the guard runs after that.
    handler.decoder().frameListener(new PeerFrames(handler.decoder().frameListener()));
    ChannelHandlerContext handlerContext = handlerPlace.get();
    if (handlerContext != null) {
      channel.pipeline().addBefore(handlerContext.name(), SHUTDOWN_WATCH, new ShutdownWatch());
      lateFrames.install(handlerContext);
    }
    List<Integer> alreadyEnded = new ArrayList<>();
    try {
      connection.forEachActiveStream(stream -> {
        if (stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
          alreadyEnded.add(stream.id());
        }
        return true;
      });
    } catch (Http2Exception e) {
      throw new IllegalStateException(e); // the visitor throws nothing
    }
    if (!alreadyEnded.isEmpty()) {
      handlerPlace.addFlushHook(driver);
      alreadyEnded.forEach(driver::serverEnded);
    }
    channel.closeFuture().addListener(f -> driver.connectionClosed());
  }

  /** Remembers {@code call} as the call on {@code streamId}, for the {@code reset_withheld} count. */
  void callStarted(int streamId, CallRecord call) {
    calls.put(streamId, call);
  }

  /**
   * Whether the peer has ended its side of {@code streamId} (or the stream is gone): read when a
   * response ends, which on the event loop is just after its trailers were written. Vert.x reports a
   * request's end only after the handler that aborted it on its HEADERS returned, so its own {@code
   * isEnded()} would call a request that came with END_STREAM still streaming.
   */
  boolean peerHalfClosed(int streamId) {
    Http2Stream stream = handler.connection().stream(streamId);
    return stream == null || stream.state() == Http2Stream.State.HALF_CLOSED_REMOTE
        || stream.state() == Http2Stream.State.CLOSED;
  }

  /** Streams lingering on this connection now (tests and diagnostics). */
  int lingeringCount() {
    return driver.lingeringCount();
  }

  /** Reads the peer's frames before Vert.x's listener does. */
  private final class PeerFrames extends DataAbsorbingPeerFrames {
    PeerFrames(Http2FrameListener delegate) {
      super(delegate, handler.connection(), driver);
    }

    /** A complete response ends the call: Vert.x still sees the request's end, not its bytes. */
    @Override
    protected boolean absorbsDataOf(Http2Stream stream) {
      return endedByServer(stream);
    }

    @Override
    protected boolean passesOnTheEnd() {
      return true;
    }
  }

  /**
   * Sees Vert.x's server shutdown pass down the pipeline ahead of Vert.x's handler, which answers it
   * with GOAWAY(NO_ERROR): lingering streams are then released as {@code shutdown}, not {@code goaway}.
   */
  private final class ShutdownWatch extends ChannelInboundHandlerAdapter {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (VertxInternals.isShutdownEvent(evt)) {
        driver.goAwaySent(ReleaseCause.SHUTDOWN);
      }
      super.userEventTriggered(ctx, evt);
    }
  }
}
