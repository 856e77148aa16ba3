package consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import io.grpc.BindableService;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import jakarta.inject.Singleton;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * docs/micronaut.md followed: abortguard-micronaut on the class path of a Micronaut gRPC application
 * with its own TLS and message-size settings, and an interceptor bean that denies calls.
 */
class MicronautAbortedCallTest {
  static final MethodDescriptor<byte[], byte[]> UNARY = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName("consumer.Echo/Unary")
      .setRequestMarshaller(Bytes.INSTANCE)
      .setResponseMarshaller(Bytes.INSTANCE)
      .build();
  static final MethodDescriptor<byte[], byte[]> SECRET = UNARY.toBuilder().setFullMethodName("consumer.Echo/Secret").build();

  @Test
  void deniedCallIsPermissionDeniedAndMicronautsSettingsHold() throws Exception {
    Map<String, Object> settings = Map.of(
        "grpc.server.host", "127.0.0.1",
        "grpc.server.port", 0,
        "grpc.server.ssl.cert-chain", "classpath:tls/server.pem",
        "grpc.server.ssl.private-key", "classpath:tls/server.key",
        "grpc.server.max-inbound-message-size", "100",
        "abortguard.reset", "deferred");
    try (ApplicationContext context = ApplicationContext.run(EmbeddedServer.class, settings).getApplicationContext()) {
      EmbeddedServer server = context.getBean(EmbeddedServer.class);
      assertEquals(ResetPolicy.DEFERRED, context.getBean(AbortGuard.class).config().reset());
      ManagedChannel channel;
      try (InputStream cert = MicronautAbortedCallTest.class.getResourceAsStream("/tls/server.pem")) {
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
            .overrideAuthority("localhost")
            .sslContext(GrpcSslContexts.forClient().trustManager(cert).build())
            .build();
      }
      try {
        assertEquals("hi", new String(ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT, "hi".getBytes())));
        StatusRuntimeException tooBig = assertThrows(StatusRuntimeException.class,
            () -> ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT, new byte[200]));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, tooBig.getStatus().getCode());
        StatusRuntimeException denied = assertThrows(StatusRuntimeException.class,
            () -> ClientCalls.blockingUnaryCall(channel, SECRET, CallOptions.DEFAULT, "hi".getBytes()));
        assertEquals(Status.Code.PERMISSION_DENIED, denied.getStatus().getCode());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Singleton
  static final class EchoService implements BindableService {
    @Override
    public ServerServiceDefinition bindService() {
      return ServerServiceDefinition.builder("consumer.Echo")
          .addMethod(UNARY, ServerCalls.asyncUnaryCall(EchoService::echo))
          .addMethod(SECRET, ServerCalls.asyncUnaryCall(EchoService::echo))
          .build();
    }

    private static void echo(byte[] request, io.grpc.stub.StreamObserver<byte[]> responses) {
      responses.onNext(request);
      responses.onCompleted();
    }
  }

  /** Denies every call to {@code consumer.Echo/Secret} at once, as an auth check would. */
  @Singleton
  static final class DenyInterceptor implements ServerInterceptor {
    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
        ServerCallHandler<ReqT, RespT> next) {
      if (call.getMethodDescriptor().getFullMethodName().equals(SECRET.getFullMethodName())) {
        call.close(Status.PERMISSION_DENIED.withDescription("denied"), new Metadata());
        return new ServerCall.Listener<>() {};
      }
      return next.startCall(call, headers);
    }
  }

  enum Bytes implements MethodDescriptor.Marshaller<byte[]> {
    INSTANCE;

    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
