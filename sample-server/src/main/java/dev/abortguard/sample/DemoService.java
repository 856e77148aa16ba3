package dev.abortguard.sample;

import com.google.protobuf.ByteString;
import dev.abortguard.sample.proto.DemoRequest;
import dev.abortguard.sample.proto.DemoResponse;
import dev.abortguard.sample.proto.DemoServiceGrpc;
import io.grpc.stub.StreamObserver;
import java.util.StringJoiner;

/**
 * The echo service behind the sample server: each call shape sends back what it was sent (see
 * {@code demo.proto} for the exact replies).
 */
public final class DemoService extends DemoServiceGrpc.DemoServiceImplBase {
  /** How many copies of the request {@code ServerStream} answers with. */
  static final int SERVER_STREAM_COPIES = 3;

  @Override
  public void unary(DemoRequest request, StreamObserver<DemoResponse> responses) {
    responses.onNext(echo(request));
    responses.onCompleted();
  }

  @Override
  public void serverStream(DemoRequest request, StreamObserver<DemoResponse> responses) {
    DemoResponse response = echo(request);
    for (int i = 0; i < SERVER_STREAM_COPIES; i++) {
      responses.onNext(response);
    }
    responses.onCompleted();
  }

  @Override
  public StreamObserver<DemoRequest> clientStream(StreamObserver<DemoResponse> responses) {
    return new StreamObserver<DemoRequest>() {
      private final StringJoiner texts = new StringJoiner(",");
      private ByteString payloads = ByteString.EMPTY;

      @Override
      public void onNext(DemoRequest request) {
        texts.add(request.getText());
        payloads = payloads.concat(request.getPayload());
      }

      @Override
      public void onError(Throwable t) {
        // The client cancelled: there is no one left to answer.
      }

      @Override
      public void onCompleted() {
        responses.onNext(
            DemoResponse.newBuilder().setText(texts.toString()).setPayload(payloads).build());
        responses.onCompleted();
      }
    };
  }

  @Override
  public StreamObserver<DemoRequest> bidi(StreamObserver<DemoResponse> responses) {
    return new StreamObserver<DemoRequest>() {
      @Override
      public void onNext(DemoRequest request) {
        responses.onNext(echo(request));
      }

      @Override
      public void onError(Throwable t) {
        // The client cancelled: there is no one left to answer.
      }

      @Override
      public void onCompleted() {
        responses.onCompleted();
      }
    };
  }

  private static DemoResponse echo(DemoRequest request) {
    return DemoResponse.newBuilder().setText(request.getText()).setPayload(request.getPayload()).build();
  }
}
