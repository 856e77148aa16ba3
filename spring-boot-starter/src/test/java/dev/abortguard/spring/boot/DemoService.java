package dev.abortguard.spring.boot;

import dev.abortguard.testing.TestServers;
import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;

/**
 * The sample server's {@code abortguard.demo.v1.DemoService} as a generic bytes service (no
 * generated code): every method echoes, so the Python client of the end-to-end tests can call it.
 * Rejections come from {@link AuthInterceptor}; {@code Unary} throws for {@code "throw"}, for
 * Boot's exception-handling interceptor to turn into a status.
 */
public final class DemoService implements BindableService {
  public static final String SERVICE = "abortguard.demo.v1.DemoService";
  public static final String UNARY = "/" + SERVICE + "/Unary";
  public static final String BIDI = "/" + SERVICE + "/Bidi";
  public static final String CLIENT_STREAM = "/" + SERVICE + "/ClientStream";
  public static final MethodDescriptor<byte[], byte[]> UNARY_METHOD = method("Unary", MethodType.UNARY);

  @Override
  public ServerServiceDefinition bindService() {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(UNARY_METHOD, ServerCalls.asyncUnaryCall(DemoService::unary))
        .addMethod(method("ServerStream", MethodType.SERVER_STREAMING),
            ServerCalls.asyncServerStreamingCall(DemoService::unary))
        .addMethod(method("ClientStream", MethodType.CLIENT_STREAMING),
            ServerCalls.asyncClientStreamingCall(DemoService::lastOf))
        .addMethod(method("Bidi", MethodType.BIDI_STREAMING), ServerCalls.asyncBidiStreamingCall(DemoService::echo))
        .build();
  }

  static MethodDescriptor<byte[], byte[]> method(String name, MethodType type) {
    return MethodDescriptor.newBuilder(TestServers.bytesMarshaller(), TestServers.bytesMarshaller())
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .build();
  }

  private static void unary(byte[] request, StreamObserver<byte[]> responses) {
    if ("throw".equals(new String(request, StandardCharsets.UTF_8))) {
      throw new IllegalArgumentException("the demo service was asked to throw");
    }
    responses.onNext(request);
    responses.onCompleted();
  }

  private static StreamObserver<byte[]> echo(StreamObserver<byte[]> responses) {
    return new StreamObserver<>() {
      @Override
      public void onNext(byte[] message) {
        responses.onNext(message);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        responses.onCompleted();
      }
    };
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
