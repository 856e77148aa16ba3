package dev.abortguard.benchmarks;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
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
 * What the guard costs a call that is not aborted: unary round trips (throughput and latency) and
 * messages echoed on one long-lived bidi stream, against a stock grpc-java server in the same run.
 */
@State(Scope.Benchmark)
public class CallOverheadBenchmark {
  /**
   * Bidi messages in flight at most. Enough to keep both I/O threads busy without a round trip per
   * message, small enough that 32 x 1 KiB stays far inside HTTP/2's default 64 KiB window, so that
   * flow control never stalls the stream.
   */
  static final int BIDI_WINDOW = 32;

  @Param({"stock", "guarded"})
  public String server;

  @Param({"16", "1024"})
  public int payloadBytes;

  private LoopbackConnection connection;
  private byte[] payload;
  private ClientCall<byte[], byte[]> bidi;
  private final Semaphore bidiCredits = new Semaphore(BIDI_WINDOW);
  private final CompletableFuture<Status> bidiClosed = new CompletableFuture<>();

  @Setup
  public void start() throws Exception {
    connection = new LoopbackConnection(server, null);
    payload = new byte[payloadBytes];
    new Random(42).nextBytes(payload);
    // Connects the channel, so the first measured call does not pay for the handshake.
    ClientCalls.blockingUnaryCall(connection.channel(), EchoService.UNARY, CallOptions.DEFAULT, payload);
    // Every benchmark method gets the bidi stream; idle, it costs the others nothing.
    bidi = connection.channel().newCall(EchoService.BIDI, CallOptions.DEFAULT);
    bidi.start(new ClientCall.Listener<byte[]>() {
      @Override
      public void onMessage(byte[] message) {
        bidiCredits.release();
        bidi.request(1); // request() is the one ClientCall method safe from any thread.
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        bidiClosed.complete(status);
      }
    }, new Metadata());
    bidi.request(BIDI_WINDOW);
  }

  @TearDown
  public void stop() throws Exception {
    bidi.halfClose();
    Status status = bidiClosed.get(5, TimeUnit.SECONDS);
    if (!status.isOk()) {
      throw new IllegalStateException("bidi stream ended with " + status);
    }
    connection.close();
  }

  /** Unary round trips per second. */
  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public byte[] unaryThroughput() {
    return ClientCalls.blockingUnaryCall(connection.channel(), EchoService.UNARY, CallOptions.DEFAULT, payload);
  }

  /** Unary round-trip latency; JMH reports its percentiles (p50, p99). */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public byte[] unaryLatency() {
    return ClientCalls.blockingUnaryCall(connection.channel(), EchoService.UNARY, CallOptions.DEFAULT, payload);
  }

  /**
   * Messages per second echoed on one bidi stream: each operation sends one message once fewer
   * than {@link #BIDI_WINDOW} are unanswered, so in the steady state it counts echoes.
   */
  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public void bidiStreaming() throws InterruptedException {
    bidiCredits.acquire();
    bidi.sendMessage(payload);
  }
}
