package dev.abortguard.internal.grpc;

import io.grpc.Attributes;
import io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.InternalProtocolNegotiationEvent;
import io.grpc.netty.ProtocolNegotiationEvent;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Goes in front of a connection's negotiation handler: attaches a {@link GrpcConnectionAdapter},
 * marks the connection's transport attributes as guarded (so the call layer can tell a guarded
 * server from one whose guard was lost), then leaves the pipeline.
 */
final class GuardAttachingHandler extends ChannelInboundHandlerAdapter {
  /** Present in the transport attributes of every connection the guard watches. */
  static final Attributes.Key<Boolean> GUARDED = Attributes.Key.create("dev.abortguard.guarded");

  private final GrpcHttp2ConnectionHandler grpcHandler;
  private final ChannelHandler negotiationHandler;
  private final TransportGuard guard;

  GuardAttachingHandler(
      GrpcHttp2ConnectionHandler grpcHandler, ChannelHandler negotiationHandler, TransportGuard guard) {
    this.grpcHandler = grpcHandler;
    this.negotiationHandler = negotiationHandler;
    this.guard = guard;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    GrpcConnectionAdapter.attach(ctx.channel(), grpcHandler, guard);
    ctx.pipeline().addAfter(ctx.name(), null, negotiationHandler);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof ProtocolNegotiationEvent) {
      // grpc-java starts negotiation with this event from the pipeline's head; the negotiators
      // carry its attributes on to the transport, and from there to every call.
      ProtocolNegotiationEvent event = (ProtocolNegotiationEvent) evt;
      Attributes attributes = InternalProtocolNegotiationEvent.getAttributes(event).toBuilder()
          .set(GUARDED, Boolean.TRUE)
          .build();
      ctx.fireUserEventTriggered(InternalProtocolNegotiationEvent.withAttributes(event, attributes));
      ctx.pipeline().remove(this);
      return;
    }
    super.userEventTriggered(ctx, evt);
  }
}
