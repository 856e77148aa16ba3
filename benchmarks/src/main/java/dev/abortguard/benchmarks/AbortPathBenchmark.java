package dev.abortguard.benchmarks;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Immediate aborts per second, the guard's own case: the server's interceptor rejects every call
 * with PERMISSION_DENIED while the client still streams, so each guarded call also goes through
 * the tracker (lingering until the client's RST_STREAM arrives, or reset at once).
 */
@State(Scope.Benchmark)
public class AbortPathBenchmark {
  @Param({"stock", "deferred", "never", "immediate"})
  public String server;

  private static final byte[] MESSAGE = new byte[16];

  private LoopbackConnection connection;

  /** The application's check that fails: the abort happens before the handler ever runs. */
  static final class DenyAll implements ServerInterceptor {
    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
        ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
      call.close(Status.PERMISSION_DENIED.withDescription("denied"), new Metadata());
      return new ServerCall.Listener<ReqT>() {};
    }
  }

  @Setup
  public void start() throws Exception {
    connection = new LoopbackConnection(server, new DenyAll());
    // Connects the channel, so the first measured call does not pay for the handshake.
    try {
      ClientCalls.blockingUnaryCall(connection.channel(), EchoService.UNARY, CallOptions.DEFAULT, MESSAGE);
    } catch (RuntimeException expected) {
      // PERMISSION_DENIED, like every call here.
    }
  }

  @TearDown
  public void stop() throws Exception {
    // Evidence that the tracker did its work: released{peer_reset} or {immediate} should roughly
    // match the calls made, and lingering should be back to 0.
    String counters = connection.guardCounters();
    if (!counters.isEmpty()) {
      System.out.println();
      System.out.println("abortguard counters (" + server + "): " + counters);
    }
    connection.close();
  }

  /**
   * One call: open a bidi stream, send a message and keep the client's side open until the status
   * arrives; grpc-java's client then resets the stream itself.
   */
  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public Status abortedCall() throws InterruptedException, ExecutionException {
    ClientCall<byte[], byte[]> call = connection.channel().newCall(EchoService.BIDI, CallOptions.DEFAULT);
    CompletableFuture<Status> closed = new CompletableFuture<>();
    call.start(new ClientCall.Listener<byte[]>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.request(1);
    call.sendMessage(MESSAGE);
    Status status = closed.get();
    if (status.getCode() != Status.Code.PERMISSION_DENIED) {
      throw new IllegalStateException("expected PERMISSION_DENIED, got " + status);
    }
    return status;
  }
}
