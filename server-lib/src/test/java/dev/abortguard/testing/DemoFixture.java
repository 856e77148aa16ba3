package dev.abortguard.testing;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;

/**
 * The sample server's {@code abortguard.demo.v1.DemoService} and its auth-like interceptor, on
 * plain bytes (no generated code), for the framework modules' test applications (Spring Boot,
 * Micronaut, Quarkus): the C-core client of the end-to-end harness calls it as it calls the sample
 * server. Each framework's test wraps these in its own bean, so there is one service and one
 * interceptor to read.
 */
public final class DemoFixture {
  public static final String SERVICE = "abortguard.demo.v1.DemoService";
  public static final String UNARY = "/" + SERVICE + "/Unary";
  public static final String BIDI = "/" + SERVICE + "/Bidi";
  public static final String CLIENT_STREAM = "/" + SERVICE + "/ClientStream";
  public static final MethodDescriptor<byte[], byte[]> UNARY_METHOD = method("Unary", MethodType.UNARY);

  /** A call carrying this header, {@code <status code name>}, is rejected by {@link #authInterceptor()} at once. */
  public static final String ABORT = "x-demo-abort";
  /** With {@code true}, the interceptor sends response headers before it rejects, as some interceptors do. */
  public static final String HEADERS_FIRST = "x-demo-headers-first";
  /** The rejection's description. */
  public static final String DESCRIPTION = "rejected by the auth interceptor";

  private static final Metadata.Key<String> ABORT_KEY = Metadata.Key.of(ABORT, Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> HEADERS_FIRST_KEY =
      Metadata.Key.of(HEADERS_FIRST, Metadata.ASCII_STRING_MARSHALLER);

  private DemoFixture() {}

  /**
   * The service: Unary and ServerStream echo (a request {@code "throw"} makes them throw, for a
   * framework's exception handling to turn into a status), ClientStream answers its last message,
   * Bidi echoes each message.
   */
  public static ServerServiceDefinition service() {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(UNARY_METHOD, ServerCalls.asyncUnaryCall(DemoFixture::unary))
        .addMethod(method("ServerStream", MethodType.SERVER_STREAMING),
            ServerCalls.asyncServerStreamingCall(DemoFixture::unary))
        .addMethod(method("ClientStream", MethodType.CLIENT_STREAMING),
            ServerCalls.asyncClientStreamingCall(DemoFixture::lastOf))
        .addMethod(method("Bidi", MethodType.BIDI_STREAMING), ServerCalls.asyncBidiStreamingCall(TestServers::echo))
        .build();
  }

  /** The auth-like interceptor: rejects a call carrying {@link #ABORT} before the service sees it. */
  public static ServerInterceptor authInterceptor() {
    return Auth.INSTANCE;
  }

  /** A method of the service on bytes. */
  public static MethodDescriptor<byte[], byte[]> method(String name, MethodType type) {
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

  private enum Auth implements ServerInterceptor {
    INSTANCE;

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
        ServerCallHandler<ReqT, RespT> next) {
      String code = headers.get(ABORT_KEY);
      if (code == null) {
        return next.startCall(call, headers);
      }
      if ("true".equals(headers.get(HEADERS_FIRST_KEY))) {
        call.sendHeaders(new Metadata());
      }
      call.close(Status.fromCode(Status.Code.valueOf(code)).withDescription(DESCRIPTION), new Metadata());
      return new ServerCall.Listener<>() {};
    }
  }
}
