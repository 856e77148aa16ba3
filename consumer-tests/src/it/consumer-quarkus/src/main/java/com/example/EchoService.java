package com.example;

import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** A bidi method that rejects every call at once, while the client still streams. */
@GrpcService
public class EchoService implements BindableService {
  public static final MethodDescriptor<byte[], byte[]> BIDI = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
      .setFullMethodName("example.Echo/Bidi")
      .setRequestMarshaller(new Bytes())
      .setResponseMarshaller(new Bytes())
      .build();

  @Override
  public ServerServiceDefinition bindService() {
    return ServerServiceDefinition.builder("example.Echo")
        .addMethod(BIDI, ServerCalls.asyncBidiStreamingCall(EchoService::reject))
        .build();
  }

  private static StreamObserver<byte[]> reject(StreamObserver<byte[]> responses) {
    responses.onError(Status.PERMISSION_DENIED.withDescription("no").asRuntimeException());
    return new StreamObserver<>() {
      @Override
      public void onNext(byte[] value) {}

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    };
  }

  static final class Bytes implements MethodDescriptor.Marshaller<byte[]> {
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
