package dev.abortguard.testing;

import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.ReleaseCauseMatrix.Server;
import dev.abortguard.testing.ReleaseCauseMatrix.Stack;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The peer's late frames on streams the guard has released never kill the connection, on every
 * stack (each stack's {@link ReleaseCauseMatrix} test runs these with its own {@link Stack}). A
 * client that was still sending when the guard reset its stream keeps sending for a round trip;
 * RFC 9113 §5.4.2 has the server ignore those frames. Netty's decoder answers each with
 * RST_STREAM(STREAM_CLOSED), and a Netty handler built with Netty's builder (Vert.x, a server's own
 * {@code Http2FrameCodec}, Armeria) counts those answers against its MadeYouReset limit (200 per 30 s
 * by default) and ends the connection with GOAWAY(ENHANCE_YOUR_CALM) past it. Each case sends well
 * past that limit, and more late DATA than any of the stacks' connection windows holds, so a guard
 * that drops the bytes without returning them to the window fails too. Late trailers all carry
 * the same field, as a client's repeated fields do: only the first block adds it to the HPACK
 * table, which the server's decoder must see.
 */
public final class LateFrames {
  private static final Duration WAIT = Duration.ofSeconds(5);
  private static final String BIDI = TestServers.path(TestServers.BIDI);
  private static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");
  /** Aborted streams released per round: well under any stack's MAX_CONCURRENT_STREAMS. */
  private static final int BATCH = 25;

  /** What the client keeps sending on its released streams. */
  public enum Kind {
    /** 24 DATA frames of 2 KiB on each of 50 released streams: 1,200 frames, 2.4 MiB. */
    DATA,
    /** Request trailers (HEADERS with END_STREAM), one on each of 250 released streams. */
    TRAILERS
  }

  private LateFrames() {}

  /** The policies that release (reset) aborted streams, with each kind of late frame. */
  public static Stream<org.junit.jupiter.params.provider.Arguments> policiesAndKinds() {
    List<org.junit.jupiter.params.provider.Arguments> cases = new ArrayList<>();
    for (ResetPolicy policy : new ResetPolicy[] {ResetPolicy.IMMEDIATE, ResetPolicy.DEFERRED}) {
      for (Kind kind : Kind.values()) {
        cases.add(org.junit.jupiter.params.provider.Arguments.of(policy, kind));
      }
    }
    return cases.stream();
  }

  /**
   * Aborted calls the client leaves open are released by the guard (at once, or after a grace of
   * 20 ms), then the client sends {@code kind} on them. The connection lives (no GOAWAY, a PING
   * answered, a new call served on it), the server sends no reset on those streams but the guard's
   * one RST_STREAM(NO_ERROR), and nothing lingers.
   */
  public static void run(Stack stack, ResetPolicy policy, Kind kind) {
    try (Server server = stack.start(b -> b.reset(policy).resetGrace(Duration.ofMillis(20)), false);
        RawHttp2Client client = server.connect()) {
      int streams = kind == Kind.DATA ? 50 : 250;
      List<Integer> released = new ArrayList<>();
      for (int done = 0; done < streams; done += BATCH) {
        List<Integer> batch = abortAndAwaitRelease(client, Math.min(BATCH, streams - done));
        released.addAll(batch);
        if (kind == Kind.TRAILERS) {
          client.corked(() -> batch.forEach(s -> client.sendHeaders(s, Map.of("x-late", "trailer"), true)));
        } else {
          // Not corked: DATA waits for the window the server returns, as a client's would.
          for (int round = 0; round < 24; round++) {
            batch.forEach(s -> client.sendData(s, new byte[2048], false));
          }
        }
        client.sync();
      }
      String context = policy + " / " + kind + "\n" + client.describeFrames();
      assertTrue(client.syncUnlessClosed(), "the connection ended: " + context);
      assertEquals(List.of(), client.frames().stream().filter(f -> f.type() == GOAWAY).collect(Collectors.toList()),
          context);
      EarlyCloseExpectations.servesAnEcho(client, BIDI);
      long answered = 0;
      for (int stream : released) {
        List<Long> resets = client.frames(stream).stream().filter(f -> f.type() == RST_STREAM)
            .map(Frame::errorCode).collect(Collectors.toList());
        String what = "the resets on released stream " + stream + ", " + context;
        assertEquals(NO_ERROR, resets.get(0), what);
        List<Long> answers = resets.subList(1, resets.size());
        assertTrue(answers.stream().allMatch(code -> code == RawHttp2Client.STREAM_CLOSED), what);
        answered += answers.size();
      }
      if (!stack.answersLateFrames()) {
        // At most: the first late frame after the guard attached to a running connection (Vert.x's
        // first request), before it has found the decoder's frame boundary; and the one trailers
        // block that adds x-late to the HPACK table, which the decoder must see.
        assertTrue(answered <= (kind == Kind.TRAILERS ? 2 : 1), answered + " late frames answered, " + context);
      }
      assertEquals(0, server.lingering(), context);
    }
  }

  /** Starts {@code count} calls the server aborts and the client leaves open; awaits the guard's resets. */
  private static List<Integer> abortAndAwaitRelease(RawHttp2Client client, int count) {
    List<Integer> streams = new ArrayList<>();
    client.corked(() -> {
      for (int i = 0; i < count; i++) {
        streams.add(client.startCall(BIDI, ABORT, false));
      }
    });
    for (int stream : streams) {
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      assertEquals("7", trailers.header("grpc-status"), client.describeFrames());
      client.awaitFrame(EarlyCloseExpectations.rstOn(stream), WAIT);
    }
    return streams;
  }
}
