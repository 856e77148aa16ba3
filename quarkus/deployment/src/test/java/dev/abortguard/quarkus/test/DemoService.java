package dev.abortguard.quarkus.test;

import dev.abortguard.testing.TestServers;
import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;

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
    return MethodDescriptor.newBuilder(TestServers.bytesMarshaller(), TestServers.bytesMarshaller())
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .build();
  }

  private static void unary(byte[] request, StreamObserver<byte[]> responses) {
    responses.onNext(request);
    responses.onCompleted();
  }
}
