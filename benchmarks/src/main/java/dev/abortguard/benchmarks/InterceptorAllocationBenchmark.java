package dev.abortguard.benchmarks;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The guard's interceptor called directly on a fake call, against an interceptor that does
 * nothing: run with {@code -prof gc} and read {@code gc.alloc.rate.norm} for the bytes each call
 * allocates, with nothing of the transport's mixed in.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class InterceptorAllocationBenchmark {
  /** {@code noop}: a pass-through interceptor; {@code guarded}: the guard with Micrometer metrics. */
  @Param({"noop", "guarded", "guarded-nometrics"})
  public String interceptor;

  private static final byte[] MESSAGE = new byte[16];
  private static final Status DENIED = Status.PERMISSION_DENIED.withDescription("denied");

  private ServerInterceptor tested;
  private final FakeCall call = new FakeCall();
  private final Application application = new Application();
  // Neither is changed by a call that holds no headers back, so they can be shared.
  private final Metadata requestHeaders = new Metadata();
  private final Metadata emptyMetadata = new Metadata();

  @Setup
  public void create() {
    switch (interceptor) {
      case "noop":
        tested = new PassThrough();
        break;
      case "guarded":
      case "guarded-nometrics":
        AbortGuard.Builder builder = AbortGuard.builder().properties(name -> null).reset(ResetPolicy.DEFERRED);
        if (interceptor.equals("guarded")) {
          builder.meterRegistry(new SimpleMeterRegistry());
        }
        AbortGuard guard = builder.build();
        // Alone, as on a server without the call layer: it also counts the aborts it sees.
        tested = guard.interceptor();
        break;
      default:
        throw new IllegalArgumentException(interceptor);
    }
  }

  /** A call that succeeds: a message each way, headers, half-close, OK. */
  @Benchmark
  public ServerCall.Listener<byte[]> okCall() {
    ServerCall.Listener<byte[]> listener = tested.interceptCall(call, requestHeaders, application);
    ServerCall<byte[], byte[]> wrapped = application.call;
    listener.onMessage(MESSAGE);
    listener.onHalfClose();
    wrapped.sendHeaders(emptyMetadata);
    wrapped.sendMessage(MESSAGE);
    wrapped.close(Status.OK, emptyMetadata);
    listener.onComplete();
    return listener;
  }

  /** An immediate abort while the client streams, before any headers: counted by the guard. */
  @Benchmark
  public ServerCall.Listener<byte[]> abortedCall() {
    ServerCall.Listener<byte[]> listener = tested.interceptCall(call, requestHeaders, application);
    application.call.close(DENIED, emptyMetadata);
    listener.onComplete();
    return listener;
  }

  /**
   * An abort after the application sent headers eagerly: the guard holds them back and merges
   * them into the trailers. The trailers are new each time because that merge changes them.
   */
  @Benchmark
  public ServerCall.Listener<byte[]> abortedAfterEagerHeaders() {
    ServerCall.Listener<byte[]> listener = tested.interceptCall(call, requestHeaders, application);
    ServerCall<byte[], byte[]> wrapped = application.call;
    wrapped.sendHeaders(emptyMetadata);
    wrapped.close(DENIED, new Metadata());
    listener.onComplete();
    return listener;
  }

  /** The baseline: what an interceptor that does nothing costs. */
  static final class PassThrough implements ServerInterceptor {
    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
        ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
      return next.startCall(call, headers);
    }
  }

  /** The application: keeps the call it was given, so the benchmark can act as the handler. */
  static final class Application implements ServerCallHandler<byte[], byte[]> {
    private static final ServerCall.Listener<byte[]> LISTENER = new ServerCall.Listener<>() {};
    ServerCall<byte[], byte[]> call;

    @Override
    public ServerCall.Listener<byte[]> startCall(ServerCall<byte[], byte[]> call, Metadata headers) {
      this.call = call;
      return LISTENER;
    }
  }

  /** A transport's call that does nothing: whatever is allocated is the interceptor's. */
  static final class FakeCall extends ServerCall<byte[], byte[]> {
    @Override
    public void request(int numMessages) {}

    @Override
    public void sendHeaders(Metadata headers) {}

    @Override
    public void sendMessage(byte[] message) {}

    @Override
    public void close(Status status, Metadata trailers) {}

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public MethodDescriptor<byte[], byte[]> getMethodDescriptor() {
      return EchoService.BIDI;
    }
  }
}
