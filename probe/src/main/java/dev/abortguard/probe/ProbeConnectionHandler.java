package dev.abortguard.probe;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The probe's side of one HTTP/2 connection: says when the server is ready (its SETTINGS arrived)
 * or why it never was, and opens and ends calls. Recording the frames the peer sends on a call's
 * stream is {@link CallFrameRouter}'s part.
 *
 * <p>Everything here runs on the connection's event loop.
 */
final class ProbeConnectionHandler extends Http2ConnectionHandler {
  private final InboundReads reads;
  private final boolean tls;
  private final long timeoutMillis;
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final CallFrameRouter router;
  private ChannelHandlerContext ctx;
  // Client streams are odd; this handler is the only one that opens any.
  private int nextStreamId = 1;
  private volatile boolean handshakeDone;

  private ProbeConnectionHandler(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
      Http2Settings settings, InboundReads reads, boolean tls, long timeoutMillis) {
    super(decoder, encoder, settings);
    this.reads = reads;
    this.tls = tls;
    this.timeoutMillis = timeoutMillis;
    this.router = new CallFrameRouter(reads, ready);
  }

  /**
   * A handler for one connection.
   *
   * @param timeoutMillis how long to wait for the server's SETTINGS once the connection (and TLS) is up
   */
  static ProbeConnectionHandler create(InboundReads reads, boolean tls, long timeoutMillis) {
    return new Builder(reads, tls, timeoutMillis).build();
  }

  /** Completes when the server's SETTINGS arrive; fails with the first error if they never do. */
  CompletableFuture<Void> ready() {
    return ready;
  }

  /** The TLS handshake succeeded, with h2 or not. */
  boolean handshakeDone() {
    return handshakeDone;
  }

  /** The TCP connect failed. */
  void connectFailed(Throwable cause) {
    fail(cause);
  }

  /**
   * Opens a call: HEADERS and one empty gRPC message, without END_STREAM, in one flush, the way a
   * client-streaming client starts and keeps its side open. Takes ownership of {@code message}.
   */
  CallRecord startCall(int number, Http2Headers headers, ByteBuf message) {
    int streamId = nextStreamId;
    nextStreamId += 2;
    long now = System.nanoTime();
    CallRecord call = new CallRecord(number, streamId, now);
    router.watch(call);
    encoder().writeHeaders(ctx, streamId, headers, 0, false, ctx.newPromise()).addListener(f -> {
      if (!f.isSuccess()) {
        call.abandon("the stream could not be opened: " + f.cause());
      }
    });
    call.sent("HEADERS", now, false, null);
    int length = message.readableBytes(); // read before the encoder takes the buffer
    encoder().writeData(ctx, streamId, message, 0, false, ctx.newPromise());
    call.sentData(length, System.nanoTime(), false);
    ctx.flush();
    return call;
  }

  /**
   * Stops watching a call and closes the probe's side of its stream if it is still open: with
   * END_STREAM after a response that ended, as a client with nothing more to send (no reset, so
   * nobody's reset-flood limit counts it), else with RST_STREAM(CANCEL).
   */
  void finishCall(CallRecord call) {
    router.stopWatching(call);
    Http2Stream stream = connection().stream(call.streamId());
    if (stream == null || stream.state() == Http2Stream.State.CLOSED || !ctx.channel().isActive()) {
      return;
    }
    long now = System.nanoTime();
    if (call.ended() && stream.state() == Http2Stream.State.HALF_CLOSED_REMOTE) {
      encoder().writeData(ctx, call.streamId(), Unpooled.EMPTY_BUFFER, 0, true, ctx.newPromise());
      call.sentData(0, now, true);
    } else {
      resetStream(ctx, call.streamId(), Http2Error.CANCEL.code(), ctx.newPromise());
      call.sent("RST_STREAM", now, false, Http2Error.CANCEL.code());
    }
    ctx.flush();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
    this.ctx = ctx;
    super.handlerAdded(ctx);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    super.channelActive(ctx);
    if (!tls) {
      startSettingsTimer(ctx);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof SslHandshakeCompletionEvent) {
      SslHandshakeCompletionEvent handshake = (SslHandshakeCompletionEvent) evt;
      if (!handshake.isSuccess()) {
        fail(handshake.cause());
      } else {
        handshakeDone = true;
        String protocol = ctx.pipeline().get(SslHandler.class).applicationProtocol();
        if (!"h2".equals(protocol)) {
          fail(new AlpnRefusedException(protocol));
          ctx.close();
        } else {
          startSettingsTimer(ctx);
        }
      }
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
    fail(cause);
    if (Http2CodecUtil.getEmbeddedHttp2Exception(cause) != null) {
      super.exceptionCaught(ctx, cause); // GOAWAY, then close
    } else {
      ctx.close(); // socket and TLS errors: nothing more to say to the peer
    }
  }

  @Override
  protected void onConnectionError(
      ChannelHandlerContext ctx, boolean outbound, Throwable cause, Http2Exception http2Ex) {
    fail(cause != null ? cause : http2Ex);
    super.onConnectionError(ctx, outbound, cause, http2Ex);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    String goAway = router.goAway();
    fail(new ConnectionClosedException(goAway));
    router.abandonAll("the connection closed" + (goAway == null ? "" : " after " + goAway));
    super.channelInactive(ctx);
  }

  private void startSettingsTimer(ChannelHandlerContext ctx) {
    ctx.executor().schedule(() -> {
      if (!ready.isDone()) {
        fail(new SettingsTimeoutException(timeoutMillis));
        ctx.close();
      }
    }, timeoutMillis, TimeUnit.MILLISECONDS);
  }

  private void fail(Throwable cause) {
    ready.completeExceptionally(cause);
  }

  /** Builds the handler with the probe's settings: a client, no server push, no graceful wait on close. */
  private static final class Builder
      extends AbstractHttp2ConnectionHandlerBuilder<ProbeConnectionHandler, Builder> {
    private final InboundReads reads;
    private final boolean tls;
    private final long timeoutMillis;

    Builder(InboundReads reads, boolean tls, long timeoutMillis) {
      this.reads = reads;
      this.tls = tls;
      this.timeoutMillis = timeoutMillis;
      server(false);
      initialSettings(Http2Settings.defaultSettings().pushEnabled(false));
      // Every call is finished before the probe closes: nothing to wait for after GOAWAY.
      gracefulShutdownTimeoutMillis(0);
    }

    @Override
    protected ProbeConnectionHandler build() {
      return super.build();
    }

    @Override
    protected ProbeConnectionHandler build(
        Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings initialSettings) {
      ProbeConnectionHandler handler =
          new ProbeConnectionHandler(decoder, encoder, initialSettings, reads, tls, timeoutMillis);
      decoder.frameListener(handler.router);
      return handler;
    }
  }

  /** The TLS handshake succeeded but the server did not pick h2 by ALPN. */
  static final class AlpnRefusedException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String protocol;

    AlpnRefusedException(String protocol) {
      super("ALPN chose " + (protocol == null ? "nothing" : "'" + protocol + "'") + " instead of h2");
      this.protocol = protocol;
    }

    /** What the server chose, or null if it chose nothing. */
    String protocol() {
      return protocol;
    }
  }

  /** No SETTINGS from the server within the timeout. */
  static final class SettingsTimeoutException extends Exception {
    private static final long serialVersionUID = 1L;

    SettingsTimeoutException(long timeoutMillis) {
      super("no HTTP/2 SETTINGS within " + CommandLine.formatMillis(timeoutMillis));
    }
  }

  /** The connection closed, after a GOAWAY or without one. */
  static final class ConnectionClosedException extends Exception {
    private static final long serialVersionUID = 1L;

    ConnectionClosedException(String goAway) {
      super("the connection closed" + (goAway == null ? "" : " after " + goAway));
    }
  }
}
