package dev.abortguard.micronaut;

import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import dev.abortguard.testing.TestServers;
import jakarta.inject.Singleton;

/**
 * The sample server's {@code abortguard.demo.v1.DemoService} as a bytes service bean (no generated
 * code), so the C-core client of the end-to-end tests can call it: Bidi echoes, ClientStream answers
 * its last message, Unary echoes. Rejections come from {@link AuthInterceptor}.
 */
@Singleton
public final class DemoService implements BindableService {
  public static final String SERVICE = "abortguard.demo.v1.DemoService";
  public static final String UNARY = "/" + SERVICE + "/Unary";
  public static final String BIDI = "/" + SERVICE + "/Bidi";

  @Override
  public ServerServiceDefinition bindService() {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(method("Unary", MethodType.UNARY), ServerCalls.asyncUnaryCall((request, responses) -> {
          responses.onNext(request);
          responses.onCompleted();
        }))
        .addMethod(method("ClientStream", MethodType.CLIENT_STREAMING),
            ServerCalls.asyncClientStreamingCall(DemoService::lastOf))
        .addMethod(method("Bidi", MethodType.BIDI_STREAMING), ServerCalls.asyncBidiStreamingCall(TestServers::echo))
        .build();
  }

  static MethodDescriptor<byte[], byte[]> method(String name, MethodType type) {
    return MethodDescriptor.newBuilder(TestServers.bytesMarshaller(), TestServers.bytesMarshaller())
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .build();
  }

  private static StreamObserver<byte[]> lastOf(StreamObserver<byte[]> responses) {
    return new StreamObserver<>() {
      private byte[] last = new byte[0];

      @Override
      public void onNext(byte[] message) {
        last = message;
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        responses.onNext(last);
        responses.onCompleted();
      }
    };
  }
}
