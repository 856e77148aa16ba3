package dev.abortguard.armeria;

import com.linecorp.armeria.common.HttpRequest;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.internal.GuardParts;
import dev.abortguard.internal.core.ConnectionDriver;
import dev.abortguard.internal.netty.NettyConnectionPort;
import dev.abortguard.internal.netty.DataAbsorbingPeerFrames;
import dev.abortguard.internal.netty.HandlerPlace;
import dev.abortguard.internal.netty.StreamStateListener;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;
import java.util.function.BooleanSupplier;

/**
 * Attaches a {@link ConnectionDriver} to one Armeria HTTP/2 connection: the handler's stream events
 * drive it and the guard's resets go out through the handler; Armeria's own reset of an
 * early-closed stream is withheld ({@link EarlyCloseResetFilter}); and the peer's frames on a
 * stream whose request Armeria has finished are answered here, as Armeria would not: DATA is
 * consumed, so that the connection's flow-control window does not shrink while the stream lingers,
 * and HEADERS are dropped.
 */
final class ArmeriaConnectionAdapter {
  private static final String REQUESTS_NAME = "abortguard-armeria-requests";

  private final Channel channel;
  private final Http2ConnectionHandler handler;
  private final ConnectionDriver driver;
  /** The request Armeria made of a stream's HEADERS. */
  private final Http2Connection.PropertyKey requestKey;
  /** Marks streams the server ended while the peer had not. */
  private final Http2Connection.PropertyKey endedFirstKey;
  /** Marks streams the peer ended (END_STREAM) or reset. */
  private final Http2Connection.PropertyKey peerClosedKey;
  private final HandlerPlace handlerPlace;
  /** The stream whose HEADERS Armeria is reading, while it reads them. */
  private Http2Stream opening;

  private ArmeriaConnectionAdapter(Channel channel, Http2ConnectionHandler handler, GuardParts parts) {
    this.channel = channel;
    this.handler = handler;
    this.handlerPlace = new HandlerPlace(channel, handler);
    this.driver = NettyConnectionPort.driver(parts, channel, handler, handlerPlace);
    this.requestKey = handler.connection().newKey();
    this.endedFirstKey = handler.connection().newKey();
    this.peerClosedKey = handler.connection().newKey();
  }

  /**
   * Starts guarding {@code handler}, Armeria's HTTP/2 handler for {@code channel}, before it has read
   * a frame. On the event loop.
   */
  static void attach(
      Channel channel, Http2ConnectionHandler handler, GuardParts parts, BooleanSupplier serverStopping) {
    ArmeriaConnectionAdapter adapter = new ArmeriaConnectionAdapter(channel, handler, parts);
    Http2Connection connection = handler.connection();
    // Ahead of the StreamStateListener: the first GOAWAY cause reported is the one that counts,
    // and a teardown must be reported before the closes it makes look like the peer's.
    connection.addListener(new ServerStopGoAway(adapter.driver, serverStopping));
    connection.addListener(adapter.new Teardown());
    connection.addListener(new StreamStateListener(adapter.driver,
        () -> adapter.handlerPlace.addFlushHook(adapter.driver), StreamStateListener.EarlyCloses.NONE));
    handler.encoder().lifecycleManager(new EarlyCloseResetFilter(handler));
    handler.decoder().frameListener(adapter.new PeerFrames(handler.decoder().frameListener()));
    ChannelHandlerContext handlerContext = adapter.handlerPlace.get();
    if (handlerContext != null) {
      channel.pipeline().addAfter(handlerContext.name(), REQUESTS_NAME, adapter.new RequestCapture());
    }
    channel.closeFuture().addListener(f -> adapter.driver.connectionClosed());
  }

  /**
   * Whether Armeria is done with the request of {@code stream}, which the server has ended: it takes
   * no more of the peer's frames (its request was aborted when the response completed, or it never
   * made one).
   */
  private boolean requestDone(Http2Stream stream) {
    if (stream == null || stream.state() != Http2Stream.State.HALF_CLOSED_LOCAL) {
      return false;
    }
    HttpRequest request = stream.getProperty(requestKey);
    return request == null || !request.isOpen();
  }

  /** Sees the request Armeria makes of each stream's HEADERS as it passes them on to its server handler. */
  private final class RequestCapture extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (opening != null && msg instanceof HttpRequest) {
        opening.setProperty(requestKey, msg);
      }
      ctx.fireChannelRead(msg);
    }
  }

  /**
   * Tells the guard that the connection is being torn down when Armeria closes a stream that the
   * server ended and the peer never did, without a reset: Armeria does that to every open stream
   * just before it closes a connection it is shutting down. Counted otherwise, those streams would
   * look ended by the peer.
   */
  private final class Teardown extends Http2ConnectionAdapter {
    @Override
    public void onStreamHalfClosed(Http2Stream stream) {
      if (stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
        stream.setProperty(endedFirstKey, Boolean.TRUE);
      }
    }

    @Override
    public void onStreamClosed(Http2Stream stream) {
      if (stream.getProperty(endedFirstKey) != null && stream.getProperty(peerClosedKey) == null
          && !stream.isResetSent()) {
        driver.connectionClosed();
      }
    }
  }

  /** Sits between Netty's decoder and Armeria's, reading the peer's frames first. */
  private final class PeerFrames extends DataAbsorbingPeerFrames {
    PeerFrames(Http2FrameListener delegate) {
      super(delegate, handler.connection(), driver);
    }

    @Override
    protected void peerData(Http2Stream stream, boolean endOfStream) {
      peerClosing(stream, endOfStream);
    }

    /**
     * Armeria would keep these bytes unconsumed until the stream closes. END_STREAM closes the
     * stream after the codec's read, which the guard counts as the peer's end.
     */
    @Override
    protected boolean absorbsDataOf(Http2Stream stream) {
      return requestDone(stream);
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
        boolean endOfStream) throws Http2Exception {
      Http2Stream stream = stream(streamId);
      peerClosing(stream, endOfStream);
      if (requestDone(stream)) {
        return; // request trailers after the response: with END_STREAM the codec ends the stream
      }
      opening = stream;
      try {
        super.onHeadersRead(ctx, streamId, headers, padding, endOfStream);
      } finally {
        opening = null;
      }
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
        short weight, boolean exclusive, int padding, boolean endOfStream) throws Http2Exception {
      Http2Stream stream = stream(streamId);
      peerClosing(stream, endOfStream);
      if (requestDone(stream)) {
        return;
      }
      opening = stream;
      try {
        super.onHeadersRead(ctx, streamId, headers, streamDependency, weight, exclusive, padding, endOfStream);
      } finally {
        opening = null;
      }
    }

    @Override
    protected void peerResetting(Http2Stream stream) {
      peerClosing(stream, true);
    }

    private void peerClosing(Http2Stream stream, boolean closing) {
      if (closing && stream != null) {
        stream.setProperty(peerClosedKey, Boolean.TRUE);
      }
    }
  }

  /**
   * Reports Armeria's GOAWAY on server stop as a shutdown: Armeria says {@code app-requested} only
   * for a request context's own connection shutdown, and nothing when the server stops.
   */
  private static final class ServerStopGoAway extends Http2ConnectionAdapter {
    private final ConnectionDriver driver;
    private final BooleanSupplier serverStopping;

    ServerStopGoAway(ConnectionDriver driver, BooleanSupplier serverStopping) {
      this.driver = driver;
      this.serverStopping = serverStopping;
    }

    @Override
    public void onGoAwaySent(int lastStreamId, long errorCode, ByteBuf debugData) {
      if (errorCode == Http2Error.NO_ERROR.code() && serverStopping.getAsBoolean()) {
        driver.goAwaySent(ReleaseCause.SHUTDOWN);
      }
    }
  }
}
