package dev.abortguard.okhttp;

import static dev.abortguard.okhttp.OkHttpTestServer.ABORT;
import static dev.abortguard.okhttp.OkHttpTestServer.BIDI;
import static dev.abortguard.okhttp.OkHttpTestServer.WAIT;
import static dev.abortguard.okhttp.OkHttpTestServer.lingeringCall;
import static dev.abortguard.testing.EarlyCloseExpectations.rstOn;
import static dev.abortguard.testing.RawHttp2Client.DATA;
import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.PING;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static dev.abortguard.testing.RawHttp2Client.STREAM_CLOSED;
import static dev.abortguard.testing.RawHttp2Client.WINDOW_UPDATE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.Await;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The connection flow-control window and DATA on streams grpc-okhttp has forgotten. Stock
 * grpc-okhttp skips such DATA without counting it toward the connection window ({@code
 * OkHttpServerTransport.FrameHandler.data}: {@code stream == null} returns before the window
 * update), against RFC 9113 §6.9, so a peer that keeps sending on an aborted stream wedges the whole
 * connection once 64 KiB are lost. The guard keeps DATA on lingering streams from grpc-okhttp and
 * returns every byte with a connection WINDOW_UPDATE: 2 MiB sent on aborted streams (at most the
 * 65,535-byte stream window each) come back in full and the next call on the connection is
 * served. Also measured: DATA in flight when a stream is reset (the guard's deferred reset, and
 * grpc-okhttp's own under immediate), which reaches grpc-okhttp as on a stock server.
 */
class OkHttpConnectionWindowWireTest {
  static final int TOTAL = 2 * 1024 * 1024;
  /** grpc-okhttp's default INITIAL_WINDOW_SIZE and initial connection window. */
  static final int WINDOW = 65_535;

  /** The sum of the WINDOW_UPDATE increments the client received on stream 0. */
  static long connectionCredit(RawHttp2Client client) {
    return client.frames(0).stream().filter(f -> f.type() == WINDOW_UPDATE).mapToLong(Frame::windowIncrement).sum();
  }

  static byte[] payload(int length) {
    byte[] bytes = new byte[length];
    new Random(length).nextBytes(bytes);
    return bytes;
  }

  @Test
  void twoMebibytesOnLingeringStreamsComeBackAsConnectionWindow() {
    try (OkHttpTestServer server = OkHttpTestServer.start(b -> b.reset(ResetPolicy.DEFERRED)
            .resetGrace(Duration.ofSeconds(30)));
        RawHttp2Client client = server.connect()) {
      long started = System.nanoTime();
      List<Integer> streams = new ArrayList<>();
      int sent = 0;
      while (sent < TOTAL) {
        int stream = lingeringCall(client);
        streams.add(stream);
        int length = Math.min(WINDOW, TOTAL - sent);
        // Waits (5 s at most each time) for connection window: only the guard's WINDOW_UPDATEs give it.
        client.sendData(stream, payload(length), false);
        sent += length;
      }
      Await.until("WINDOW_UPDATE(0) for all " + TOTAL + " bytes (" + connectionCredit(client) + " so far)",
          () -> connectionCredit(client) >= TOTAL, WAIT);
      long millis = (System.nanoTime() - started) / 1_000_000;
      long updates = client.frames(0).stream().filter(f -> f.type() == WINDOW_UPDATE).count();
      System.out.printf("[okhttp window] guarded, deferred: %d bytes of DATA on %d lingering streams, %d bytes"
          + " returned in %d WINDOW_UPDATE(0) frames, %d ms%n", TOTAL, streams.size(), connectionCredit(client),
          updates, millis);
      assertEquals(TOTAL, connectionCredit(client), "every byte returned, once\n" + client.describeFrames());
      client.assertNoFrame(f -> f.type() == RST_STREAM || f.type() == GOAWAY, Duration.ZERO);
      assertEquals(streams.size(), server.lingering(), "the DATA kept them lingering");

      // A normal call on the same connection, with a message larger than one frame, is served.
      byte[] message = payload(40_000);
      int echo = client.startCall(BIDI, Map.of(), false);
      client.sendMessage(echo, message, true);
      Frame trailers = client.awaitFrame(f -> f.streamId() == echo && f.type() == HEADERS && f.endStream(), WAIT);
      assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
      assertArrayEquals(RawHttp2Client.lengthPrefixed(message), client.receivedData(echo));
      for (int stream : streams) {
        client.assertNoFrame(f -> f.streamId() == stream && f.type() != HEADERS, Duration.ZERO);
      }
    }
  }

  /**
   * The baseline: stock grpc-okhttp answers each DATA frame on the reset stream with
   * RST_STREAM(STREAM_CLOSED) and never returns the bytes; once the 65,535-byte connection window
   * is spent, a new call on the connection cannot send its request.
   */
  @Test
  void stockGrpcOkHttpLosesTheConnectionWindow() {
    try (OkHttpTestServer server = OkHttpTestServer.startStock();
        RawHttp2Client client = server.connect()) {
      int stream = client.startCall(BIDI, ABORT, false);
      client.awaitFrame(rstOn(stream), WAIT);
      client.sendData(stream, payload(WINDOW), false);
      client.sync();
      client.assertNoFrame(f -> f.streamId() == 0 && f.type() == WINDOW_UPDATE, Duration.ofMillis(300));
      long streamClosed = client.frames(stream).stream()
          .filter(f -> f.type() == RST_STREAM && f.errorCode() == STREAM_CLOSED).count();
      System.out.printf("[okhttp window] stock: %d bytes of DATA on a reset stream, %d bytes of connection window"
          + " returned, %d RST_STREAM(STREAM_CLOSED) answers%n", WINDOW, connectionCredit(client), streamClosed);
      assertEquals(0, connectionCredit(client), client.describeFrames());
      assertTrue(streamClosed >= 1, client.describeFrames());

      int echo = client.startCall(BIDI, Map.of(), false);
      IllegalStateException wedged = assertThrows(IllegalStateException.class,
          () -> client.sendMessage(echo, new byte[] {1}, true));
      assertTrue(wedged.getMessage().contains("no WINDOW_UPDATE"), wedged.getMessage());
      client.assertNoFrame(f -> f.streamId() == echo && f.type() == DATA, Duration.ZERO);
      System.out.println("[okhttp window] stock: the next call on that connection cannot send its request");
    }
  }

  /**
   * DATA the peer had in flight when the stream was reset (it sends before it reads the reset):
   * RFC 9113 §5.1 says it still counts toward the connection window. Measured for the guard's own
   * deferred reset and grpc-okhttp's reset under immediate; expected: the window comes back as it
   * does for a lingering stream.
   */
  @Test
  void dataInFlightAfterTheGuardsDeferredResetCountsTowardTheWindow() {
    Duration grace = Duration.ofMillis(200);
    try (OkHttpTestServer server = OkHttpTestServer.start(b -> b.reset(ResetPolicy.DEFERRED).resetGrace(grace));
        RawHttp2Client client = server.connect()) {
      int stream = lingeringCall(client);
      client.awaitFrame(rstOn(stream), grace.plus(WAIT));
      assertEquals(1, server.released(ReleaseCause.GRACE_EXPIRED, 1));
      expectWindowBackForDataAfterTheReset(client, stream, "deferred, after the guard's reset");
    }
  }

  /** Like {@link #dataInFlightAfterTheGuardsDeferredResetCountsTowardTheWindow}, under immediate. */
  @Test
  void dataInFlightAfterAnImmediateResetCountsTowardTheWindow() {
    try (OkHttpTestServer server = OkHttpTestServer.start(b -> b.reset(ResetPolicy.IMMEDIATE));
        RawHttp2Client client = server.connect()) {
      int stream = client.startCall(BIDI, ABORT, false);
      client.awaitFrame(rstOn(stream), WAIT);
      expectWindowBackForDataAfterTheReset(client, stream, "immediate");
    }
  }

  /**
   * DATA that reaches grpc-okhttp after the abort made it forget the stream (it forgets a stream
   * when it queues the trailers) but before the trailers reach the guard's side of the socket
   * (grpc-okhttp writes them later, from its transport executor). grpc-okhttp skips such a frame
   * without counting it toward the connection window and answers RST_STREAM(STREAM_CLOSED), one per
   * frame; a streaming client whose DATA crosses an abort meets this at random.
   *
   * <p>Here the race is forced, not hoped for: the server's transport executor ({@code
   * OkHttpServerBuilder.transportExecutor}) holds grpc-okhttp's writes while the client opens a
   * call the server aborts; once the abort has returned on the server, the client sends the DATA,
   * and a HEADERS frame right behind it. grpc-okhttp reads frames in order, so when that HEADERS
   * reaches the server's interceptor, grpc-okhttp has read the DATA; nothing of the aborted stream
   * has reached the client yet (asserted), so its trailers were still unwritten. Only then are the
   * writes let go. Done against stock grpc-okhttp, the procedure must show the race's cost (every
   * frame answered RST_STREAM(STREAM_CLOSED), no connection window back) or the test fails; against
   * the guard, no such answer and every byte back as connection window.
   */
  @Test
  void dataRacingTheAbortIsNotLost() {
    long raced = RACES.stream().flatMapToInt(IntStream::of).asLongStream().sum();
    long frames = RACES.stream().mapToLong(race -> race.length).sum();

    try (HeldWrites writes = new HeldWrites()) {
      CallSteps steps = new CallSteps();
      try (OkHttpTestServer stock = OkHttpTestServer.startStock(b -> b.transportExecutor(writes).intercept(steps));
          RawHttp2Client client = stock.connect()) {
        List<Integer> streams = forceRaces(client, writes, steps);
        client.sync();
        client.assertNoFrame(f -> f.streamId() == 0 && f.type() == WINDOW_UPDATE, Duration.ofMillis(300));
        long answered = streamClosedAnswers(client, streams);
        System.out.printf("[okhttp window] stock, DATA forced to cross %d aborts: %d bytes in %d frames,"
            + " %d RST_STREAM(STREAM_CLOSED) answers, %d bytes of connection window returned%n", streams.size(),
            raced, frames, answered, connectionCredit(client));
        assertEquals(frames, answered, "the race happened: grpc-okhttp had forgotten each stream when it read"
            + " the DATA, and answered every frame\n" + client.describeFrames());
        assertEquals(0, connectionCredit(client), "and counted none of it\n" + client.describeFrames());
      }
    }

    try (HeldWrites writes = new HeldWrites()) {
      CallSteps steps = new CallSteps();
      try (OkHttpTestServer server = OkHttpTestServer.start(b -> b.reset(ResetPolicy.DEFERRED)
              .resetGrace(Duration.ofSeconds(30)), InsecureServerCredentials.create(),
              b -> b.transportExecutor(writes).intercept(steps));
          RawHttp2Client client = server.connect()) {
        List<Integer> streams = forceRaces(client, writes, steps);
        // Fewer bytes than grpc-okhttp's own threshold for a WINDOW_UPDATE (half its 65,535-byte window):
        // every increment the client gets is the guard's.
        Await.until("WINDOW_UPDATE(0) for " + raced + " bytes (" + connectionCredit(client) + " so far)",
            () -> connectionCredit(client) >= raced, WAIT);
        client.sync();
        long answered = streamClosedAnswers(client, streams);
        System.out.printf("[okhttp window] guarded deferred, the same: %d RST_STREAM(STREAM_CLOSED) answers,"
            + " %d of %d bytes returned; lingering %.0f, released %s%n", answered, connectionCredit(client), raced,
            server.lingering(), OkHttpHostileInputTest.releasedByCause(server));
        assertEquals(0, answered, "grpc-okhttp's answers to the DATA it skipped reach the client\n"
            + client.describeFrames());
        assertEquals(raced, connectionCredit(client), "every byte of the DATA that crossed the aborts returned,"
            + " once\n" + client.describeFrames());
        assertEquals(streams.size(), server.lingering(), "the aborted streams linger");
        OkHttpTestServer.unaryEcho(client);
      }
    }
  }

  /** The DATA frames (their lengths) each forced race sends: fewer than 32,767 bytes in all. */
  static final List<int[]> RACES = List.of(new int[] {400}, new int[] {1_000, 1}, new int[] {5_000, 300, 7});

  /** {@link #forceRace} once for each of {@link #RACES} on {@code client}'s connection; the aborted streams. */
  static List<Integer> forceRaces(RawHttp2Client client, HeldWrites writes, CallSteps steps) {
    List<Integer> streams = new ArrayList<>();
    for (int i = 0; i < RACES.size(); i++) {
      streams.add(forceRace(client, writes, steps, i, RACES.get(i)));
    }
    return streams;
  }

  /**
   * Opens a call the server aborts and sends DATA frames of these lengths on it after grpc-okhttp
   * has forgotten the stream and before its trailers are written; returns the stream, its trailers
   * received.
   */
  static int forceRace(RawHttp2Client client, HeldWrites writes, CallSteps steps, int round, int[] lengths) {
    String abort = "abort-" + round;
    String behind = "behind-" + round;
    writes.holdAll(client);
    int stream = client.startCall(BIDI, CallSteps.headers(abort), false);
    // The abort has returned: grpc-okhttp has queued the trailers (behind the held writes) and forgotten the stream.
    steps.awaitReturned(abort);
    int[] next = new int[1];
    client.corked(() -> {
      for (int length : lengths) {
        client.sendData(stream, payload(length), false);
      }
      next[0] = client.startCall(BIDI, CallSteps.headers(behind), true);
    });
    // grpc-okhttp reads frames in order: it has read the DATA.
    steps.awaitStarted(behind);
    assertTrue(writes.held() > 0, "grpc-okhttp's writes held");
    client.assertNoFrame(f -> f.streamId() == stream || f.streamId() == next[0], Duration.ZERO);
    writes.release();
    Frame trailers = client.awaitFrame(f -> f.streamId() == stream && f.type() == HEADERS && f.endStream(), WAIT);
    assertEquals("7", trailers.header("grpc-status"), client.describeFrames());
    client.awaitFrame(f -> f.streamId() == next[0] && f.type() == HEADERS && f.endStream(), WAIT);
    return stream;
  }

  static long streamClosedAnswers(RawHttp2Client client, List<Integer> streams) {
    return streams.stream().flatMap(stream -> client.frames(stream).stream())
        .filter(f -> f.type() == RST_STREAM && f.errorCode() == STREAM_CLOSED).count();
  }

  /**
   * grpc-okhttp's transport executor, which runs its writes to the socket (one task at a time, from
   * a serializing executor) and each connection's frame reader; it can hold the tasks given to it.
   */
  static final class HeldWrites implements Executor, AutoCloseable {
    private static final AtomicLong PINGS = new AtomicLong(0x5eed_0000_0000L);
    private final ExecutorService threads = Executors.newCachedThreadPool(task -> {
      Thread thread = new Thread(task, "okhttp-test-transport");
      thread.setDaemon(true);
      return thread;
    });
    private final List<Runnable> held = new ArrayList<>();
    private boolean holding;

    @Override
    public void execute(Runnable task) {
      synchronized (this) {
        if (holding) {
          held.add(task);
          return;
        }
      }
      threads.execute(task);
    }

    /**
     * Holds every write of {@code client}'s connection from now until {@link #release}: holds new
     * tasks, then PINGs until grpc-okhttp's answer is one of them. A write task already running
     * when the hold began may send an answer; once one is held, grpc-okhttp queues every later write
     * behind it.
     */
    void holdAll(RawHttp2Client client) {
      synchronized (this) {
        holding = true;
      }
      for (int attempt = 0; held() == 0; attempt++) {
        assertTrue(attempt < 20, "no write of grpc-okhttp's held after " + attempt + " PINGs\n" + client.describeFrames());
        long data = PINGS.incrementAndGet();
        client.sendPing(data);
        Await.until("the answer to PING " + data + " held or received",
            () -> held() > 0 || client.frames(0).stream().anyMatch(f -> f.type() == PING && f.ack()
                && ByteBuffer.wrap(f.payload()).getLong() == data), WAIT);
      }
    }

    synchronized int held() {
      return held.size();
    }

    void release() {
      List<Runnable> tasks;
      synchronized (this) {
        holding = false;
        tasks = new ArrayList<>(held);
        held.clear();
      }
      tasks.forEach(threads::execute);
    }

    @Override
    public void close() {
      release();
      threads.shutdownNow();
    }
  }

  /**
   * Notes the calls that reach the server by their {@code x-test-step} header: when the
   * interceptors below start on them, and when they have returned (an abort: {@code close} done).
   */
  static final class CallSteps implements ServerInterceptor {
    static final String HEADER = "x-test-step";
    private static final Metadata.Key<String> KEY = Metadata.Key.of(HEADER, Metadata.ASCII_STRING_MARSHALLER);
    private final Set<String> started = ConcurrentHashMap.newKeySet();
    private final Set<String> returned = ConcurrentHashMap.newKeySet();

    /** Request headers for a call the server aborts, marked {@code step}. */
    static Map<String, String> headers(String step) {
      Map<String, String> headers = new LinkedHashMap<>(ABORT);
      headers.put(HEADER, step);
      return headers;
    }

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
        ServerCallHandler<ReqT, RespT> next) {
      String step = headers.get(KEY);
      if (step == null) {
        return next.startCall(call, headers);
      }
      started.add(step);
      try {
        return next.startCall(call, headers);
      } finally {
        returned.add(step);
      }
    }

    void awaitStarted(String step) {
      Await.until("call " + step + " on the server", () -> started.contains(step), WAIT);
    }

    void awaitReturned(String step) {
      Await.until("call " + step + " aborted on the server", () -> returned.contains(step), WAIT);
    }
  }

  static void expectWindowBackForDataAfterTheReset(RawHttp2Client client, int stream, String what) {
    int length = 32 * 1024;
    client.sendData(stream, payload(length), false);
    client.sync();
    try {
      Await.until("WINDOW_UPDATE(0) for " + length + " bytes", () -> connectionCredit(client) >= length,
          Duration.ofSeconds(1));
    } catch (AssertionError e) {
      // Reported below with the measurement.
    }
    long streamClosed = client.frames(stream).stream()
        .filter(f -> f.type() == RST_STREAM && f.errorCode() == STREAM_CLOSED).count();
    System.out.printf("[okhttp window] guarded, %s: %d bytes of DATA in flight, %d bytes returned, %d"
        + " RST_STREAM(STREAM_CLOSED) answers%n", what, length, connectionCredit(client), streamClosed);
    assertEquals(length, connectionCredit(client),
        what + ": DATA after the reset counts toward the connection window (RFC 9113 §5.1, §6.9)\n"
            + client.describeFrames());
  }
}
