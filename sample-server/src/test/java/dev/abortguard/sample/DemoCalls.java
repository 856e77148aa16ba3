package dev.abortguard.sample;

import static org.junit.jupiter.api.Assertions.fail;

import dev.abortguard.sample.proto.DemoRequest;
import dev.abortguard.sample.proto.DemoResponse;
import dev.abortguard.sample.proto.DemoServiceGrpc;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Client-side helpers shared by the sample server's tests, the doc snippets' tests among them. */
public final class DemoCalls {
  public static final Duration TIMEOUT = Duration.ofSeconds(10);

  private DemoCalls() {}

  public static ManagedChannel channel(int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }

  public static void shutdown(ManagedChannel channel) throws InterruptedException {
    if (channel != null && !channel.shutdownNow().awaitTermination(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
      fail("channel did not terminate within " + TIMEOUT);
    }
  }

  /** Metadata asking the demo interceptor to abort with {@code code}. */
  static Metadata abortWith(String code) {
    Metadata headers = new Metadata();
    headers.put(DemoAbortInterceptor.ABORT, code);
    return headers;
  }

  static DemoRequest request(String text) {
    return DemoRequest.newBuilder().setText(text).build();
  }

  /**
   * A Bidi call with {@code headers} that sends one message and does not half-close, so the
   * client is still streaming when the server ends the call; returns how the call ended.
   */
  public static Outcome bidiStillStreaming(Channel channel, Metadata headers) throws InterruptedException {
    Outcome outcome = new Outcome();
    StreamObserver<DemoRequest> requests =
        DemoServiceGrpc.newStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
            .withDeadlineAfter(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
            .bidi(outcome);
    requests.onNext(request("hello"));
    outcome.await();
    return outcome;
  }

  /** Records a call's responses and its final status. */
  public static final class Outcome implements StreamObserver<DemoResponse> {
    final List<DemoResponse> responses = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Status> status = new CompletableFuture<>();

    @Override
    public void onNext(DemoResponse response) {
      responses.add(response);
    }

    @Override
    public void onError(Throwable t) {
      status.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      status.complete(Status.OK);
    }

    public Status await() throws InterruptedException {
      try {
        return status.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        throw new AssertionError(e);
      } catch (TimeoutException e) {
        throw new AssertionError("call did not end within " + TIMEOUT, e);
      }
    }
  }
}
