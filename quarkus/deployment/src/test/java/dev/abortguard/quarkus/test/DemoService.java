package dev.abortguard.quarkus.test;

import dev.abortguard.testing.TestServers;
import io.grpc.BindableService;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The sample server's {@code abortguard.demo.v1.DemoService} as a bytes service (no generated
 * code), served by quarkus-grpc: every method echoes, so the grpcio client of the end-to-end
 * harness can call it. Rejections come from the application's {@link AuthInterceptor}.
 */
@GrpcService
public class DemoService implements BindableService {
  public static final String SERVICE = "abortguard.demo.v1.DemoService";
  public static final String BIDI = "/" + SERVICE + "/Bidi";
  public static final MethodDescriptor<byte[], byte[]> UNARY = method("Unary", MethodType.UNARY);

  @Override
  public ServerServiceDefinition bindService() {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(UNARY, ServerCalls.asyncUnaryCall(DemoService::unary))
        .addMethod(method("ClientStream", MethodType.CLIENT_STREAMING), ServerCalls.asyncClientStreamingCall(TestServers::echo))
        .addMethod(method("Bidi", MethodType.BIDI_STREAMING), ServerCalls.asyncBidiStreamingCall(TestServers::echo))
        .build();
  }

  static MethodDescriptor<byte[], byte[]> method(String name, MethodType type) {
    return MethodDescriptor.newBuilder(DrainableBytes.INSTANCE, DrainableBytes.INSTANCE)
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .build();
  }

  private static void unary(byte[] request, StreamObserver<byte[]> responses) {
    responses.onNext(request);
    responses.onCompleted();
  }

  /**
   * Raw bytes, streamed as a {@link Drainable}: the unified server's bridge (vertx-grpc 4.5's
   * {@code GrpcServiceBridge}) casts every response stream to {@code Drainable}, as protobuf's are.
   */
  enum DrainableBytes implements MethodDescriptor.Marshaller<byte[]> {
    INSTANCE;

    @Override
    public InputStream stream(byte[] value) {
      return new Stream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      return TestServers.bytesMarshaller().parse(stream);
    }

    private static final class Stream extends ByteArrayInputStream implements Drainable, KnownLength {
      Stream(byte[] bytes) {
        super(bytes);
      }

      @Override
      public int drainTo(OutputStream target) throws IOException {
        int n = available();
        target.write(buf, pos, n);
        pos = count;
        return n;
      }
    }
  }
}
