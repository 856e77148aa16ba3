package dev.abortguard.probe;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;

/**
 * The reference server's side of one HTTP/2 connection: answers every call at once with a
 * trailers-only PERMISSION_DENIED, then does what its {@link Behaviour} says while the client is
 * still sending. DATA the client sends is consumed and its window returned.
 */
final class CallRejectingHandler extends Http2ConnectionHandler {
  static final int STATUS_CODE = 7; // PERMISSION_DENIED, what an auth check says
  /** How long a closing connection waits for open streams after its GOAWAY. */
  private static final long GRACEFUL_SHUTDOWN_MILLIS = 500;

  private final Behaviour behaviour;

  private CallRejectingHandler(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
      Http2Settings settings, Behaviour behaviour) {
    super(decoder, encoder, settings);
    this.behaviour = behaviour;
  }

  static CallRejectingHandler create(Behaviour behaviour) {
    return new Builder(behaviour).build();
  }

  private void reject(ChannelHandlerContext ctx, int streamId, boolean clientEnded) {
    Http2Headers trailers = new DefaultHttp2Headers().status("200");
    trailers.add("content-type", "application/grpc");
    trailers.add("grpc-status", Integer.toString(STATUS_CODE));
    trailers.add("grpc-message", "rejected by abortguard-probe serve (" + behaviour.flagValue() + ")");
    encoder().writeHeaders(ctx, streamId, trailers, 0, true, ctx.newPromise());
    if (clientEnded) {
      ctx.flush(); // both sides ended: the stream is closed, there is nothing to reset
      return;
    }
    switch (behaviour) {
      case CCORE:
        resetStream(ctx, streamId, Http2Error.NO_ERROR.code(), ctx.newPromise());
        ctx.flush(); // one flush: trailers and reset leave in the same write
        break;
      case NETTY:
        ctx.flush();
        // Like a child channel closed after END_STREAM: the reset is written by a later task.
        ctx.executor().execute(() -> {
          Http2Stream stream = connection().stream(streamId);
          if (stream != null && stream.state() != Http2Stream.State.CLOSED) {
            resetStream(ctx, streamId, Http2Error.CANCEL.code(), ctx.newPromise());
            ctx.flush();
          }
        });
        break;
      default:
        ctx.flush(); // grpc-java: the stream lingers until the client ends or resets it
        break;
    }
  }

  /** Rejects each new call; consumes everything else. */
  private final class RejectEveryCall extends Http2FrameAdapter {
    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
        boolean endStream) {
      Http2Stream stream = connection().stream(streamId);
      if (stream != null && !stream.isHeadersSent()) {
        reject(ctx, streamId, endStream);
      }
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
        short weight, boolean exclusive, int padding, boolean endStream) {
      onHeadersRead(ctx, streamId, headers, padding, endStream);
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
      return data.readableBytes() + padding;
    }
  }

  /** Builds a server handler whose frame listener is its own {@link RejectEveryCall}. */
  private static final class Builder extends AbstractHttp2ConnectionHandlerBuilder<CallRejectingHandler, Builder> {
    private final Behaviour behaviour;

    Builder(Behaviour behaviour) {
      this.behaviour = behaviour;
      server(true);
      gracefulShutdownTimeoutMillis(GRACEFUL_SHUTDOWN_MILLIS);
    }

    @Override
    protected CallRejectingHandler build() {
      return super.build();
    }

    @Override
    protected CallRejectingHandler build(
        Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings initialSettings) {
      CallRejectingHandler handler = new CallRejectingHandler(decoder, encoder, initialSettings, behaviour);
      decoder.frameListener(handler.new RejectEveryCall());
      return handler;
    }
  }
}
