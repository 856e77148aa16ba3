package dev.abortguard.internal.grpc;

import io.grpc.internal.ObjectPool;
import io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.InternalProtocolNegotiator;
import io.netty.channel.ChannelHandler;
import io.netty.util.AsciiString;
import java.util.concurrent.Executor;

/** A grpc-netty negotiator factory whose negotiators attach the guard to every connection. */
final class GuardedServerFactory implements InternalProtocolNegotiator.ServerFactory {
  private final InternalProtocolNegotiator.ServerFactory delegate;
  final TransportGuard guard;

  GuardedServerFactory(InternalProtocolNegotiator.ServerFactory delegate, TransportGuard guard) {
    this.delegate = delegate;
    this.guard = guard;
  }

  @Override
  public InternalProtocolNegotiator.ProtocolNegotiator newNegotiator(
      ObjectPool<? extends Executor> offloadExecutorPool) {
    InternalProtocolNegotiator.ProtocolNegotiator negotiator = delegate.newNegotiator(offloadExecutorPool);
    return new InternalProtocolNegotiator.ProtocolNegotiator() {
      @Override
      public AsciiString scheme() {
        return negotiator.scheme();
      }

      @Override
      public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
        return new GuardAttachingHandler(grpcHandler, negotiator.newHandler(grpcHandler), guard);
      }

      @Override
      public void close() {
        negotiator.close();
      }
    };
  }
}
