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
 * What the guard costs a grpc-okhttp server's normal calls, against a stock grpc-okhttp server in
 * the same run. The guard reads every HTTP/2 frame header crossing the socket and copies each byte
 * once more, in both directions: small unary calls show the per-frame and per-stream cost, 16 KiB
 * messages echoed on a bidi stream the per-byte cost.
 *
 * <p>Each benchmark has its own state, so that each runs only its own payload: the unary state's
 * {@code payloadBytes} and the bidi state's {@code messageBytes} can be set apart with {@code -p}.
 */
public class OkHttpOverheadBenchmark {
  /** Bidi messages in flight at most, as in {@link CallOverheadBenchmark}. */
  static final int BIDI_WINDOW = CallOverheadBenchmark.BIDI_WINDOW;

  /** Unary calls of a small payload: the per-call cost (three frames each way, one stream). */
  @State(Scope.Benchmark)
  public static class Unary {
    @Param({"stock", "guarded"})
    public String server;

    @Param({"16"})
    public int payloadBytes;

    OkHttpLoopbackConnection connection;
    byte[] payload;

    @Setup
    public void start() throws Exception {
      connection = new OkHttpLoopbackConnection(server);
      payload = payload(payloadBytes);
      // Connects the channel, so the first measured call does not pay for the handshake.
      ClientCalls.blockingUnaryCall(connection.channel(), EchoService.UNARY, CallOptions.DEFAULT, payload);
    }

    @TearDown
    public void stop() throws Exception {
      connection.checkGuarded();
      connection.close();
    }
  }

  /**
   * One long-lived bidi stream echoing large messages: the per-byte cost. 32 messages of 16 KiB in
   * flight stay inside the 1 MiB windows of both sides ({@link
   * OkHttpLoopbackConnection#FLOW_CONTROL_WINDOW}), so flow control never stalls the stream.
   */
  @State(Scope.Benchmark)
  public static class Bidi {
    @Param({"stock", "guarded"})
    public String server;

    @Param({"16384"})
    public int messageBytes;

    OkHttpLoopbackConnection connection;
    byte[] message;
    ClientCall<byte[], byte[]> bidi;
    final Semaphore credits = new Semaphore(BIDI_WINDOW);
    private final CompletableFuture<Status> closed = new CompletableFuture<>();

    @Setup
    public void start() throws Exception {
      if ((long) BIDI_WINDOW * (messageBytes + 5) > OkHttpLoopbackConnection.FLOW_CONTROL_WINDOW) {
        throw new IllegalArgumentException("messageBytes=" + messageBytes + ": " + BIDI_WINDOW
            + " in flight would exceed the flow-control window; the benchmark would measure its stalls");
      }
      connection = new OkHttpLoopbackConnection(server);
      message = payload(messageBytes);
      ClientCalls.blockingUnaryCall(connection.channel(), EchoService.UNARY, CallOptions.DEFAULT, message);
      bidi = connection.channel().newCall(EchoService.BIDI, CallOptions.DEFAULT);
      bidi.start(new ClientCall.Listener<byte[]>() {
        @Override
        public void onMessage(byte[] echoed) {
          credits.release();
          bidi.request(1); // request() is the one ClientCall method safe from any thread.
        }

        @Override
        public void onClose(Status status, Metadata trailers) {
          closed.complete(status);
        }
      }, new Metadata());
      bidi.request(BIDI_WINDOW);
    }

    @TearDown
    public void stop() throws Exception {
      bidi.halfClose();
      Status status = closed.get(5, TimeUnit.SECONDS);
      if (!status.isOk()) {
        throw new IllegalStateException("bidi stream ended with " + status);
      }
      connection.checkGuarded();
      connection.close();
    }
  }

  static byte[] payload(int length) {
    byte[] bytes = new byte[length];
    new Random(42).nextBytes(bytes);
    return bytes;
  }

  /** Unary round trips per second. */
  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public byte[] unaryThroughput(Unary state) {
    return ClientCalls.blockingUnaryCall(state.connection.channel(), EchoService.UNARY, CallOptions.DEFAULT,
        state.payload);
  }

  /**
   * Messages per second echoed on one bidi stream: each operation sends one message once fewer
   * than {@link #BIDI_WINDOW} are unanswered, so in the steady state it counts echoes.
   */
  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public void bidiStreaming(Bidi state) throws InterruptedException {
    state.credits.acquire();
    state.bidi.sendMessage(state.message);
  }
}
