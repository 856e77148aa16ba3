package consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.okhttp.AbortGuardOkHttp;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.internal.GrpcUtil;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;

/** A grpc-okhttp user's first test: the docs' one line, one aborted call from a grpc-okhttp client, the meters. */
class OkHttpAbortedCallTest {
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
      .setFullMethodName("consumer.Echo/Bidi")
      .setRequestMarshaller(BYTES)
      .setResponseMarshaller(BYTES)
      .build();

  /** Rejects every call at once, as an auth interceptor does. */
  static final ServerInterceptor DENY = new ServerInterceptor() {
    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
        ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
      call.close(Status.PERMISSION_DENIED.withDescription("denied"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
  };

  @Test
  void oneAbortedCallThroughTheGuardedOkHttpServer() throws Exception {
    assertEquals(System.getProperty("expect.grpc.version"), GrpcUtil.IMPLEMENTATION_VERSION,
        "grpc-bom keeps grpc-core at grpc-okhttp's version");
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AbortGuard guard = AbortGuard.builder().resetGrace(Duration.ofMillis(200)).meterRegistry(registry).build();
    ServerServiceDefinition echo = ServerServiceDefinition.builder("consumer.Echo")
        .addMethod(BIDI, ServerCalls.asyncBidiStreamingCall(responses -> null))
        .build();
    // docs/grpc-okhttp.md's one line.
    Server server = AbortGuardOkHttp.forPort(guard, 0).addService(ServerInterceptors.intercept(echo, DENY)).build()
        .start();
    ManagedChannel channel = OkHttpChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    try {
      CompletableFuture<Status> ended = new CompletableFuture<>();
      StreamObserver<byte[]> requests = ClientCalls.asyncBidiStreamingCall(
          channel.newCall(BIDI, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS)),
          new StreamObserver<>() {
            @Override
            public void onNext(byte[] value) {}

            @Override
            public void onError(Throwable t) {
              ended.complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
              ended.complete(Status.OK);
            }
          });
      requests.onNext(new byte[] {1}); // the client's side stays open: the stream is early-closed
      Status status = ended.get(10, TimeUnit.SECONDS);
      assertEquals(Status.Code.PERMISSION_DENIED, status.getCode(), status.toString());

      DoubleSupplier denied = () -> registry.find("grpc.server.aborts").tag("statusCode", "PERMISSION_DENIED")
          .counters().stream().mapToDouble(c -> c.count()).sum();
      awaitAtLeast(1.0, denied, Duration.ofSeconds(10));
      assertEquals(1.0, denied.getAsDouble(), "one abort counted");
      DoubleSupplier released = () -> registry.find("grpc.server.streams.released").counters().stream()
          .mapToDouble(c -> c.count()).sum();
      awaitAtLeast(1.0, released, Duration.ofSeconds(10));
      assertEquals(1.0, released.getAsDouble(), "the one early-closed stream, released once");
      assertEquals(0.0, registry.get("grpc.server.streams.lingering").gauge().value());
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static void awaitAtLeast(double expected, DoubleSupplier value, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (value.getAsDouble() < expected) {
      assertTrue(System.nanoTime() < deadline, "still " + value.getAsDouble() + " after " + timeout);
      Thread.sleep(10);
    }
  }
}
