package dev.abortguard.benchmarks;

import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * The benchmarks' gRPC service: a unary and a bidi method that echo raw bytes, with byte-array
 * marshallers so that no protobuf code runs and the measured cost is the transport's and the
 * guard's.
 */
final class EchoService {
  static final String SERVICE = "abortguard.bench.Echo";

  /**
   * Byte arrays as they are. Both directions tell grpc-java the exact length, so that neither side
   * buffers or copies more than once: a plain {@code readAllBytes()} allocates an 8 KiB scratch
   * buffer per message, which would swamp the allocation figures this suite reports.
   */
  static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ExactStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        if (!(stream instanceof KnownLength)) {
          return stream.readAllBytes();
        }
        byte[] message = new byte[stream.available()]; // exact for a KnownLength stream
        int read = stream.readNBytes(message, 0, message.length);
        if (read != message.length || stream.read() != -1) {
          throw new IOException("message length changed while reading it");
        }
        return message;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  /** An outgoing message whose length grpc-java can read and that it can drain straight into its buffer. */
  private static final class ExactStream extends ByteArrayInputStream implements KnownLength, Drainable {
    ExactStream(byte[] bytes) {
      super(bytes);
    }

    @Override
    public int drainTo(OutputStream target) throws IOException {
      int length = count - pos;
      target.write(buf, pos, length);
      pos = count;
      return length;
    }
  }

  static final MethodDescriptor<byte[], byte[]> UNARY = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Unary"))
      .setRequestMarshaller(BYTES)
      .setResponseMarshaller(BYTES)
      .build();

  static final MethodDescriptor<byte[], byte[]> BIDI = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Bidi"))
      .setRequestMarshaller(BYTES)
      .setResponseMarshaller(BYTES)
      .build();

  private EchoService() {}

  /** The service: {@code Unary} answers its request, {@code Bidi} answers each message as it comes. */
  static ServerServiceDefinition definition() {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(UNARY, ServerCalls.asyncUnaryCall((request, response) -> {
          response.onNext(request);
          response.onCompleted();
        }))
        .addMethod(BIDI, ServerCalls.asyncBidiStreamingCall(response -> new StreamObserver<byte[]>() {
          @Override
          public void onNext(byte[] message) {
            response.onNext(message);
          }

          @Override
          public void onError(Throwable t) {
            // The client went away; nothing to answer.
          }

          @Override
          public void onCompleted() {
            response.onCompleted();
          }
        }))
        .build();
  }
}
