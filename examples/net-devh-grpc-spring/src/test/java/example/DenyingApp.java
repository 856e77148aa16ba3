package example;

import io.grpc.BindableService;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import net.devh.boot.grpc.server.event.GrpcServerStartedEvent;
import net.devh.boot.grpc.server.interceptor.GrpcGlobalServerInterceptor;
import net.devh.boot.grpc.server.service.GrpcService;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.event.EventListener;

/** A net.devh application whose global interceptor denies every call at once, as an auth check does. */
@SpringBootApplication
public class DenyingApp {
  volatile int port;

  @EventListener
  void started(GrpcServerStartedEvent event) {
    port = event.getServer().getPort();
  }

  @GrpcGlobalServerInterceptor
  ServerInterceptor deny() {
    return new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
          ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        call.close(Status.PERMISSION_DENIED.withDescription("denied"), new Metadata());
        return new ServerCall.Listener<>() {};
      }
    };
  }

  /** A bidi method {@code example.Echo/Bidi} on raw bytes; never reached. */
  @GrpcService
  public static class Echo implements BindableService {
    static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(byte[] value) {
        return new ByteArrayInputStream(value);
      }

      @Override
      public byte[] parse(InputStream stream) {
        try {
          return stream.readAllBytes();
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      }
    };
    static final MethodDescriptor<byte[], byte[]> BIDI = MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
        .setFullMethodName("example.Echo/Bidi")
        .setRequestMarshaller(BYTES)
        .setResponseMarshaller(BYTES)
        .build();

    @Override
    public ServerServiceDefinition bindService() {
      return ServerServiceDefinition.builder("example.Echo")
          .addMethod(BIDI, ServerCalls.asyncBidiStreamingCall(responses -> null))
          .build();
    }
  }
}
