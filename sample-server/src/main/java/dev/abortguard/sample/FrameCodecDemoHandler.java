package dev.abortguard.sample;

import dev.abortguard.sample.proto.DemoServiceGrpc;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Collectors;

/**
 * Answers one gRPC call on one HTTP/2 stream child channel of the frame-codec transport.
 *
 * <p>A call with {@code x-demo-abort} ends at once, as {@link DemoAbortInterceptor} ends it, with
 * trailers-only HEADERS and END_STREAM, and the child channel is closed after them: the usual way
 * to finish a stream in Netty, and what makes {@code Http2MultiplexHandler} send RST_STREAM(CANCEL)
 * when the client is still sending (the guard's handler withholds that reset). {@code Bidi} is an
 * echo: each request message goes back unchanged (a {@code DemoRequest}'s bytes are a valid {@code
 * DemoResponse}), and the client's END_STREAM ends the call with {@code OK}. The other methods are
 * {@code UNIMPLEMENTED}.
 */
final class FrameCodecDemoHandler extends ChannelInboundHandlerAdapter {
  private static final Logger logger = Logger.getLogger(FrameCodecDemoHandler.class.getName());
  private static final AsciiString ABORT = AsciiString.cached(DemoAbortInterceptor.ABORT.name());
  private static final AsciiString HEADERS_FIRST = AsciiString.cached(DemoAbortInterceptor.HEADERS_FIRST.name());
  private static final String BIDI = DemoServiceGrpc.getBidiMethod().getFullMethodName();
  private static final Set<String> DEMO_METHODS = DemoServiceGrpc.getServiceDescriptor().getMethods().stream()
      .map(MethodDescriptor::getFullMethodName)
      .collect(Collectors.toUnmodifiableSet());

  /** The request bytes not yet echoed: at most one incomplete message. Null unless echoing. */
  private CompositeByteBuf pending;
  private boolean headersSent;
  /** Set once the trailers are written; whatever the client still sends is dropped. */
  private boolean ended;
  private boolean flushNeeded;

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (ended) {
        return;
      }
      if (msg instanceof Http2HeadersFrame) {
        Http2HeadersFrame headers = (Http2HeadersFrame) msg;
        if (pending == null) {
          onRequestHeaders(ctx, headers.headers());
        }
        // gRPC clients send no trailers, but their END_STREAM counts wherever it comes.
        if (headers.isEndStream() && !ended) {
          onRequestEnd(ctx);
        }
      } else if (msg instanceof Http2DataFrame) {
        Http2DataFrame data = (Http2DataFrame) msg;
        if (data.content().isReadable()) {
          pending.addComponent(true, data.content().retain());
          echoCompleteMessages(ctx);
        }
        if (data.isEndStream() && !ended) {
          onRequestEnd(ctx);
        }
      }
    } finally {
      // The multiplex handler has counted a DATA frame's bytes as consumed when it handed it to
      // us, and returns them to the client's window itself: releasing is all that is left.
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (flushNeeded) {
      flushNeeded = false;
      ctx.flush();
    }
    ctx.fireChannelReadComplete();
  }

  /** Stops reading while the client does not take the echoes, so that they cannot pile up here. */
  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    ctx.channel().config().setAutoRead(ctx.channel().isWritable());
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    logger.log(Level.FINE, "stream " + ctx.channel() + " failed; closing it", cause);
    releasePending();
    ctx.close();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    releasePending();
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    releasePending();
  }

  private void onRequestHeaders(ChannelHandlerContext ctx, Http2Headers headers) {
    CharSequence path = headers.path();
    String method = path != null && path.length() > 1 && path.charAt(0) == '/' ? path.toString().substring(1) : null;
    if (method == null || !DEMO_METHODS.contains(method)) {
      end(ctx, Status.UNIMPLEMENTED.withDescription("Method not found: " + (method == null ? path : method)));
      return;
    }
    CharSequence abortCode = headers.get(ABORT);
    if (abortCode != null) {
      CharSequence headersFirst = headers.get(HEADERS_FIRST);
      DemoAbortInterceptor.Abort abort =
          DemoAbortInterceptor.Abort.parse(abortCode.toString(), headersFirst == null ? null : headersFirst.toString());
      if (abort.headersFirst) {
        sendHeaders(ctx);
      }
      end(ctx, abort.status);
      return;
    }
    if (!method.equals(BIDI)) {
      end(ctx, Status.UNIMPLEMENTED.withDescription(
          "Method " + method + " is not served by the frame-codec transport, only " + BIDI));
      return;
    }
    pending = ctx.alloc().compositeBuffer();
  }

  /** Echoes each complete message in {@link #pending}, leaving an incomplete one there. */
  private void echoCompleteMessages(ChannelHandlerContext ctx) {
    while (pending.readableBytes() >= GrpcWire.PREFIX_BYTES) {
      int start = pending.readerIndex();
      short compressed = pending.getUnsignedByte(start);
      long length = pending.getUnsignedInt(start + 1);
      if (compressed != 0) {
        // No grpc-encoding was agreed (we send no grpc-accept-encoding), so none may be used.
        end(ctx, Status.INTERNAL.withDescription("compressed message received, but no encoding was agreed"));
        return;
      }
      if (length > GrpcWire.MAX_MESSAGE_BYTES) {
        end(ctx, Status.RESOURCE_EXHAUSTED.withDescription(
            "message of " + length + " bytes is larger than the limit of " + GrpcWire.MAX_MESSAGE_BYTES));
        return;
      }
      if (pending.readableBytes() < GrpcWire.PREFIX_BYTES + length) {
        break;
      }
      sendHeaders(ctx);
      int size = (int) length;
      ByteBuf echo = ctx.alloc().buffer(GrpcWire.PREFIX_BYTES + size);
      echo.writeByte(0).writeInt(size).writeBytes(pending, start + GrpcWire.PREFIX_BYTES, size);
      pending.skipBytes(GrpcWire.PREFIX_BYTES + size);
      ctx.write(new DefaultHttp2DataFrame(echo));
      flushNeeded = true;
    }
    pending.discardReadComponents();
    if (!ctx.channel().isWritable()) {
      ctx.channel().config().setAutoRead(false);
    }
  }

  private void onRequestEnd(ChannelHandlerContext ctx) {
    if (pending != null && pending.isReadable()) {
      end(ctx, Status.INTERNAL.withDescription(
          "the request ended inside a message (" + pending.readableBytes() + " bytes left)"));
    } else {
      end(ctx, Status.OK);
    }
  }

  private void sendHeaders(ChannelHandlerContext ctx) {
    if (!headersSent) {
      headersSent = true;
      ctx.write(new DefaultHttp2HeadersFrame(GrpcWire.responseHeaders()));
      flushNeeded = true;
    }
  }

  /** Writes the trailers with END_STREAM and closes this stream's channel once they are written. */
  private void end(ChannelHandlerContext ctx, Status status) {
    ended = true;
    releasePending();
    flushNeeded = false;
    ctx.writeAndFlush(new DefaultHttp2HeadersFrame(GrpcWire.trailers(status, !headersSent), true))
        .addListener(ChannelFutureListener.CLOSE);
  }

  private void releasePending() {
    if (pending != null) {
      pending.release();
      pending = null;
    }
  }
}
