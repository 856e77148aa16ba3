package dev.abortguard.internal.grpc;

import dev.abortguard.internal.core.ConnectionDriver;
import dev.abortguard.internal.netty.HandlerPlace;
import dev.abortguard.internal.netty.NettyConnectionPort;
import dev.abortguard.internal.netty.PeerFramesFirst;
import dev.abortguard.internal.netty.StreamStateListener;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * Attaches a {@link ConnectionDriver} to one grpc-java connection: its handler's stream events
 * drive it, and the guard's resets go out through that handler. It also tells each call's
 * {@link CallRecord} what its stream did on the wire, and keeps peer frames that grpc-java cannot
 * take on a stream it has ended away from grpc-java.
 */
final class GrpcConnectionAdapter {
  /**
   * The connection whose HEADERS grpc-java is reading on this thread: grpc-java creates a call's
   * stream tracers synchronously inside that read, which is how a {@link CallRecord} finds its
   * HTTP/2 stream without any grpc-java internals.
   */
  private static final FastThreadLocal<GrpcConnectionAdapter> OPENING = new FastThreadLocal<>();
  /** grpc-java's request headers take AsciiString names only. */
  private static final AsciiString CONTENT_TYPE = AsciiString.cached("content-type");

  private final Channel channel;
  private final Http2ConnectionHandler handler;
  private final TransportGuard transportGuard;
  private final ConnectionDriver driver;
  private final Http2Connection.PropertyKey callKey;
  /** Marks streams already checked for a missing call layer. */
  private final Http2Connection.PropertyKey checkedKey;
  private final HandlerPlace handlerPlace;
  private Http2Stream openingStream;
  private boolean openingStreamBound;
  /** Whether the HEADERS being read are a gRPC request grpc-java would make a call of. */
  private boolean openingGrpcRequest;

  private GrpcConnectionAdapter(Channel channel, Http2ConnectionHandler handler, TransportGuard transportGuard) {
    this.channel = channel;
    this.handler = handler;
    this.handlerPlace = new HandlerPlace(channel, handler);
    this.transportGuard = transportGuard;
    this.driver = NettyConnectionPort.driver(transportGuard.parts, channel, handler, handlerPlace);
    this.callKey = handler.connection().newKey();
    this.checkedKey = handler.connection().newKey();
  }

  /** Starts watching {@code handler}, grpc-java's handler for {@code channel}. Call on the event loop. */
  static void attach(Channel channel, Http2ConnectionHandler handler, TransportGuard transportGuard) {
    GrpcConnectionAdapter adapter = new GrpcConnectionAdapter(channel, handler, transportGuard);
    Http2Connection connection = handler.connection();
    connection.addListener(new StreamStateListener(adapter.driver,
        () -> adapter.handlerPlace.addFlushHook(adapter.driver), adapter.new CallFacts()));
    handler.decoder().frameListener(adapter.new PeerFrames(handler.decoder().frameListener()));
    channel.closeFuture().addListener(f -> adapter.driver.connectionClosed());
  }

  /**
   * The {@link CallRecord} of the stream whose HEADERS this thread is reading, if a guarded
   * connection is reading one; binds the record to that stream.
   */
  static void bindOpeningStream(CallRecord record) {
    GrpcConnectionAdapter adapter = OPENING.get();
    // The first record wins: with the call layer installed twice, it is the one that counts.
    if (adapter != null && adapter.openingStream != null && !adapter.openingStreamBound) {
      adapter.openingStream.setProperty(adapter.callKey, record);
      adapter.openingStreamBound = true;
      record.onWire(adapter.openingStream);
    }
  }

  /** Tells a stream's call record that the server ended it early, and whether its reset is withheld. */
  private final class CallFacts implements StreamStateListener.EarlyCloses {
    @Override
    public void ended(Http2Stream stream, boolean resetWithheld) {
      CallRecord record = stream.getProperty(callKey);
      if (record != null) {
        record.onEarlyClose(resetWithheld);
      }
    }
  }

  /** Sits between Netty's decoder and grpc-java's handler, reading the peer's frames first. */
  private final class PeerFrames extends PeerFramesFirst {
    PeerFrames(io.netty.handler.codec.http2.Http2FrameListener delegate) {
      super(delegate, handler.connection(), driver);
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
        boolean endOfStream) throws Http2Exception {
      if (!endedByServer(streamId)) {
        opening(streamId, headers);
        try {
          super.onHeadersRead(ctx, streamId, headers, padding, endOfStream);
        } finally {
          opened();
        }
      }
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
        short weight, boolean exclusive, int padding, boolean endOfStream) throws Http2Exception {
      if (!endedByServer(streamId)) {
        opening(streamId, headers);
        try {
          super.onHeadersRead(ctx, streamId, headers, streamDependency, weight, exclusive, padding, endOfStream);
        } finally {
          opened();
        }
      }
    }

    /**
     * Request trailers (or any HEADERS) on a stream the server has already ended: legal HTTP/2,
     * but grpc-java answers them with a connection error that kills every call on the connection.
     * The call is over, so they are dropped here; with END_STREAM the codec then closes the
     * stream, which counts as the peer's end.
     */
    private boolean endedByServer(int streamId) {
      return endedByServer(stream(streamId));
    }

    private void opening(int streamId, Http2Headers headers) {
      openingStream = stream(streamId);
      openingStreamBound = false;
      openingGrpcRequest = isGrpcRequest(headers);
      OPENING.set(GrpcConnectionAdapter.this);
    }

    private void opened() {
      OPENING.remove();
      Http2Stream stream = openingStream;
      openingStream = null;
      // A new call on a guarded connection whose server has no call layer.
      if (!openingStreamBound && openingGrpcRequest && stream != null && stream.getProperty(callKey) == null
          && stream.getProperty(checkedKey) == null) {
        stream.setProperty(checkedKey, Boolean.TRUE);
        if (channel.isActive() && isNewGrpcCall(stream)) {
          transportGuard.callLayerMissing();
        }
      }
    }
  }

  /** A gRPC request line: grpc-java answers anything else itself, without a call or its tracers. */
  private static boolean isGrpcRequest(Http2Headers headers) {
    CharSequence path = headers.path();
    CharSequence contentType = headers.get(CONTENT_TYPE);
    return path != null && path.length() > 1 && path.charAt(0) == '/'
        && contentType != null && contentType.toString().startsWith("application/grpc");
  }

  /** Whether grpc-java took the stream as a call: it sent nothing yet and is still open. */
  private static boolean isNewGrpcCall(Http2Stream stream) {
    return !stream.isHeadersSent() && !stream.isResetSent() && stream.state() != Http2Stream.State.CLOSED;
  }
}
