package dev.abortguard.hostile;

import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.Await;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The reset-flood shapes against stock and guarded servers, side by side in one test: the guard
 * must do no worse than the stack it sits in.
 *
 * <ul>
 *   <li><b>Rapid Reset</b> (CVE-2023-44487): {@value #STREAMS} HEADERS each immediately followed by
 *       RST_STREAM(CANCEL) on one connection, every {@value #ABORT_EVERY}th call one the server
 *       aborts at once (so that it lingers under the guard until the client's reset).
 *   <li><b>MadeYouReset</b> (CVE-2025-8671), two ways of making the server reset streams itself:
 *       HEADERS then WINDOW_UPDATE with increment 0 (a stream error PROTOCOL_ERROR), and HEADERS
 *       with END_STREAM then DATA on the now half-closed stream (a stream error STREAM_CLOSED).
 * </ul>
 *
 * <p>Against grpc-java's Netty server, stock ({@code TestServers.plaintextBuilder()}) and guarded,
 * with {@code NettyServerBuilder.maxRstFramesPerWindow} left at its default (off) and set to {@value
 * #GRPC_MAX_RST} per {@value #GRPC_RST_WINDOW_SECONDS} s; against the frame-codec server, stock
 * (a disabled guard) and guarded, with Netty's {@code Http2FrameCodecBuilder} defaults (200 RST_STREAM
 * frames per 30 s, received and sent) and with {@code decoderEnforceMaxRstFramesPerWindow} and
 * {@code encoderEnforceMaxRstFramesPerWindow} set to {@value #CODEC_MAX_RST} per {@value
 * #CODEC_RST_WINDOW_SECONDS} s. Asserted: the same connection outcome as stock (closed by the server
 * with GOAWAY ENHANCE_YOUR_CALM, or still serving), the outcome each setting promises, the lingering
 * gauge back to 0, the server answering on a new connection, and no Netty leak. The figures (frames
 * sent, streams the server took before its GOAWAY, its resets, time) are printed.
 */
@ExtendWith(LeakDetectionExtension.class)
class RapidResetTest {
  static final long ENHANCE_YOUR_CALM = 0xb;
  static final String REFUSED = RawHttp2Client.errorCodeName(RawHttp2Client.REFUSED_STREAM);
  static final int STREAMS = 10_000;
  static final int ABORT_EVERY = 10;
  static final int BATCH = 100;
  static final int GRPC_MAX_RST = 200;
  static final int GRPC_RST_WINDOW_SECONDS = 10;
  static final int CODEC_MAX_RST = 20_000;
  static final int CODEC_RST_WINDOW_SECONDS = 10;
  static final Duration WAIT = Duration.ofSeconds(5);
  /** How long the server may take to work through a flood it accepts. */
  static final Duration SETTLE = Duration.ofSeconds(30);
  static final Duration GRACE = Duration.ofSeconds(2);
  static final List<String> figures = new ArrayList<>();

  enum Shape {
    RAPID_RESET("HEADERS + RST_STREAM(CANCEL)"),
    MADE_YOU_RESET_WINDOW_UPDATE("HEADERS + WINDOW_UPDATE(0)"),
    MADE_YOU_RESET_DATA_AFTER_END("HEADERS(END_STREAM) + DATA");

    final String frames;

    Shape(String frames) {
      this.frames = frames;
    }
  }

  enum Limit {
    /** The stack's defaults: grpc-java no limit; Netty's codec 200 resets per 30 s each way. */
    DEFAULT,
    /** Set explicitly: grpc-java 200 per 10 s; the codec 20,000 per 10 s each way. */
    EXPLICIT
  }

  static ServerProblems problems;

  @BeforeAll
  static void startRecording() {
    problems = ServerProblems.install();
  }

  @AfterAll
  static void printFigures() {
    problems.close();
    System.out.printf(Locale.ROOT, "%n[reset floods] %d streams per run, every %dth call aborted%n%s%n", STREAMS,
        ABORT_EVERY, String.join("\n", figures));
    System.out.println("[reset floods] log records by logger and message (WARNING+; FINE ones carry a throwable):");
    problems.warningCounts().forEach((key, count) -> System.out.printf(Locale.ROOT, "  %6d  %s%n", count, key));
    System.out.printf(Locale.ROOT, "[%s] of which thrown by the stack under the guard's pass-through frame listener: %d%n",
        "reset floods", problems.passedThrough());
  }

  static Stream<Arguments> cases() {
    List<Arguments> cases = new ArrayList<>();
    for (Shape shape : Shape.values()) {
      for (Limit limit : Limit.values()) {
        cases.add(Arguments.of(shape, limit));
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "grpc-java {0}, limit {1}")
  @MethodSource("cases")
  void grpcJava(Shape shape, Limit limit) {
    UnaryOperator<NettyServerBuilder> configure = limit == Limit.EXPLICIT
        ? b -> b.maxRstFramesPerWindow(GRPC_MAX_RST, GRPC_RST_WINDOW_SECONDS)
        : b -> b;
    String label = "grpc-java, maxRstFramesPerWindow " + (limit == Limit.EXPLICIT
        ? GRPC_MAX_RST + "/" + GRPC_RST_WINDOW_SECONDS + "s" : "default (off)");
    compare(shape, label,
        () -> ServerUnderTest.grpc("stock", null, configure),
        policy -> ServerUnderTest.grpc("guarded-" + policy.value(), guard(policy), configure),
        // grpc-java counts resets received (Rapid Reset) and sent other than NO_ERROR and CANCEL
        // (MadeYouReset) against the limit; with none set it never closes.
        limit == Limit.EXPLICIT);
  }

  @ParameterizedTest(name = "frame codec {0}, limit {1}")
  @MethodSource("cases")
  void frameCodec(Shape shape, Limit limit) {
    UnaryOperator<Http2FrameCodecBuilder> codec = limit == Limit.EXPLICIT
        ? c -> c.decoderEnforceMaxRstFramesPerWindow(CODEC_MAX_RST, CODEC_RST_WINDOW_SECONDS)
            .encoderEnforceMaxRstFramesPerWindow(CODEC_MAX_RST, CODEC_RST_WINDOW_SECONDS)
        : c -> c;
    String label = "frame codec, decoder/encoderEnforceMaxRstFramesPerWindow " + (limit == Limit.EXPLICIT
        ? CODEC_MAX_RST + "/" + CODEC_RST_WINDOW_SECONDS + "s" : "default (200/30s)");
    compare(shape, label,
        () -> ServerUnderTest.frameCodec("stock", b -> b.enabled(false), codec),
        policy -> ServerUnderTest.frameCodec("guarded-" + policy.value(), guard(policy), codec),
        // Netty's default 200 per 30 s is far below the flood; 20,000 per 10 s is above it.
        limit == Limit.DEFAULT);
  }

  static UnaryOperator<AbortGuard.Builder> guard(ResetPolicy policy) {
    return b -> b.reset(policy).resetGrace(GRACE);
  }

  interface Start {
    ServerUnderTest start();
  }

  interface StartGuarded {
    ServerUnderTest start(ResetPolicy policy);
  }

  /**
   * Floods a stock server, then guarded ones ({@code deferred}; every policy for Rapid Reset where
   * the limit closes the connection), each on its own fresh server, and compares.
   */
  static void compare(Shape shape, String label, Start stock, StartGuarded guarded, boolean expectCalm) {
    Outcome baseline;
    long started = System.nanoTime();
    int knownGuardThrowables = problems.guardThrowables().size();
    int knownGuardWarnings = problems.guardWarnings().size();
    try (ServerUnderTest server = stock.start()) {
      baseline = flood(server, shape);
      baseline.afterwards = afterwards(server);
      record(shape, label, server, baseline);
    }
    // Every policy where the server cuts the flood short (cheap); deferred where it works through
    // all of it (seconds per server with the leak detector at paranoid).
    List<ResetPolicy> policies = shape == Shape.RAPID_RESET && expectCalm
        ? List.of(ResetPolicy.DEFERRED, ResetPolicy.NEVER, ResetPolicy.IMMEDIATE)
        : List.of(ResetPolicy.DEFERRED);
    List<String> problems = new ArrayList<>();
    checkExpected(problems, "stock", baseline, expectCalm);
    for (ResetPolicy policy : policies) {
      try (ServerUnderTest server = guarded.start(policy)) {
        Outcome outcome = flood(server, shape);
        outcome.afterwards = afterwards(server);
        record(shape, label, server, outcome);
        String name = "guarded " + policy.value();
        checkExpected(problems, name, outcome, expectCalm);
        if (outcome.closedByServer != baseline.closedByServer
            || !String.valueOf(outcome.goAwayCode).equals(String.valueOf(baseline.goAwayCode))) {
          problems.add(name + ": connection outcome differs from stock: " + outcome.describeOutcome() + " vs "
              + baseline.describeOutcome());
        }
        int refused = outcome.resetsReceived.getOrDefault(REFUSED, 0);
        int refusedByStock = baseline.resetsReceived.getOrDefault(REFUSED, 0);
        if (refused > refusedByStock + BATCH) {
          problems.add(name + ": refused " + refused + " streams (REFUSED_STREAM), stock " + refusedByStock
              + ": resets " + outcome.resetsReceived + " vs stock " + baseline.resetsReceived);
        }
        if (outcome.afterwards != null) {
          problems.add(name + ": " + outcome.afterwards);
        }
      }
    }
    if (baseline.afterwards != null) {
      problems.add("stock: " + baseline.afterwards);
    }
    List<String> guardThrowables = RapidResetTest.problems.guardThrowables();
    for (String thrown : guardThrowables.subList(knownGuardThrowables, guardThrowables.size())) {
      problems.add("an exception passed through the guard's code: " + thrown);
    }
    List<String> guardWarnings = RapidResetTest.problems.guardWarnings();
    for (String warning : guardWarnings.subList(knownGuardWarnings, guardWarnings.size())) {
      problems.add("the guard logged: " + warning);
    }
    figures.add(String.format(Locale.ROOT, "    (%s on %s: %.1f s with server start and stop)", shape, label,
        (System.nanoTime() - started) / 1e9));
    if (!problems.isEmpty()) {
      fail(shape + " on " + label + ":\n  " + String.join("\n  ", problems));
    }
  }

  static void checkExpected(List<String> problems, String name, Outcome outcome, boolean expectCalm) {
    if (expectCalm && !(outcome.closedByServer && Long.valueOf(ENHANCE_YOUR_CALM)
        .equals(outcome.goAwayCode))) {
      problems.add(name + ": expected GOAWAY ENHANCE_YOUR_CALM and the connection closed, got "
          + outcome.describeOutcome());
    }
    if (!expectCalm && (outcome.closedByServer || outcome.goAwayCode != null)) {
      problems.add(name + ": expected the connection to live through the flood, got " + outcome.describeOutcome());
    }
  }

  /** What one flood did. */
  static final class Outcome {
    int streamsSent;
    int framesSent;
    long floodNanos;
    /** From the last frame sent to the server's verdict (its PING answer, or the close). */
    long settleNanos;
    Long goAwayCode;
    String goAwayDebug;
    long goAwayAfterNanos = -1;
    /** Streams sent when the client first saw the GOAWAY (to the batch). */
    int streamsSentAtGoAway = -1;
    boolean closedByServer;
    final Map<String, Integer> resetsReceived = new TreeMap<>();
    int trailersReceived;
    String afterwards;

    String describeOutcome() {
      return closedByServer
          ? "closed by the server" + (goAwayCode == null ? " without GOAWAY"
              : " after GOAWAY " + RawHttp2Client.errorCodeName(goAwayCode) + " \"" + goAwayDebug + "\"")
          : goAwayCode == null ? "still open" : "open after GOAWAY " + RawHttp2Client.errorCodeName(goAwayCode);
    }
  }

  /**
   * One flood on a new connection to {@code server}: {@value #STREAMS} streams in batches of
   * {@value #BATCH} pairs, each batch one socket write, stopping when the server sends GOAWAY or
   * closes; then waits (bounded) for the server's verdict.
   */
  static Outcome flood(ServerUnderTest server, Shape shape) {
    Outcome outcome = new Outcome();
    try (RawHttp2Client client = server.connect()) {
      client.sync();
      String authority = "127.0.0.1:" + server.port();
      long start = System.nanoTime();
      int next = 1;
      try {
        while (outcome.streamsSent < STREAMS && !client.isClosed() && !sawGoAway(client)) {
          int first = next;
          int count = Math.min(BATCH, STREAMS - outcome.streamsSent);
          next += 2 * count;
          client.corked(() -> {
            for (int i = 0; i < count; i++) {
              int stream = first + 2 * i;
              boolean abort = (stream / 2) % ABORT_EVERY == 0;
              sendPair(client, shape, stream, request(authority, abort));
            }
          });
          outcome.streamsSent += count;
          outcome.framesSent += 2 * count;
        }
        if (sawGoAway(client)) {
          outcome.streamsSentAtGoAway = outcome.streamsSent;
        }
      } catch (UncheckedIOException e) {
        // The server closed the connection under us.
      }
      outcome.floodNanos = System.nanoTime() - start;
      if (!client.isClosed() && !sawGoAway(client)) {
        try {
          // The server answers a PING after every frame before it: then its verdict is in.
          long data = 0x7265736574L; // "reset"
          client.sendPing(data);
          client.awaitFrame(f -> f.type() == RawHttp2Client.PING && f.ack()
              && java.util.Arrays.equals(f.payload(), java.nio.ByteBuffer.allocate(8).putLong(data).array()), SETTLE);
        } catch (AssertionError | UncheckedIOException e) {
          // closed meanwhile
        }
      }
      if (sawGoAway(client)) {
        client.awaitClosed(WAIT);
      }
      outcome.settleNanos = System.nanoTime() - start - outcome.floodNanos;
      outcome.closedByServer = client.isClosed();
      for (Frame frame : client.frames()) {
        if (frame.type() == GOAWAY && outcome.goAwayCode == null) {
          outcome.goAwayCode = frame.errorCode();
          outcome.goAwayAfterNanos = frame.receivedNanos() - start;
          byte[] payload = frame.payload();
          outcome.goAwayDebug = new String(payload, 8, payload.length - 8, StandardCharsets.UTF_8);
        } else if (frame.type() == RST_STREAM) {
          outcome.resetsReceived.merge(RawHttp2Client.errorCodeName(frame.errorCode()), 1, Integer::sum);
        } else if (frame.endStream()) {
          outcome.trailersReceived++;
        }
      }
    }
    return outcome;
  }

  private static boolean sawGoAway(RawHttp2Client client) {
    List<Frame> frames = client.frames();
    for (int i = frames.size() - 1; i >= 0; i--) {
      if (frames.get(i).type() == GOAWAY) {
        return true;
      }
    }
    return false;
  }

  private static void sendPair(RawHttp2Client client, Shape shape, int stream, Map<String, String> headers) {
    switch (shape) {
      case RAPID_RESET:
        client.sendHeaders(stream, headers, false);
        client.sendRstStream(stream, RawHttp2Client.CANCEL);
        break;
      case MADE_YOU_RESET_WINDOW_UPDATE:
        client.sendHeaders(stream, headers, false);
        client.sendRawFrame(RawHttp2Client.WINDOW_UPDATE, 0, stream, RawFrames.windowUpdate(0));
        break;
      case MADE_YOU_RESET_DATA_AFTER_END:
        client.sendHeaders(stream, headers, true);
        client.sendRawFrame(RawHttp2Client.DATA, 0, stream, RawHttp2Client.lengthPrefixed(new byte[8]));
        break;
      default:
        throw new AssertionError(shape);
    }
  }

  private static Map<String, String> request(String authority, boolean abort) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put(":method", "POST");
    headers.put(":scheme", "http");
    headers.put(":path", ServerUnderTest.BIDI);
    headers.put(":authority", authority);
    headers.put("content-type", "application/grpc");
    headers.put("te", "trailers");
    if (abort) {
      headers.put(TestServers.ABORT_HEADER, "PERMISSION_DENIED");
    }
    return headers;
  }

  /**
   * After the flood's connection closed: the server notices, nothing lingers, and a new connection
   * gets an echo. Returns what went wrong, or null.
   */
  static String afterwards(ServerUnderTest server) {
    try {
      Await.until("the server to see the connection closed", () -> server.openConnections() == 0, WAIT);
      if (server.guarded()) {
        Await.until("the lingering gauge back to 0 (reads " + server.lingering() + ")", () -> server.lingering() == 0,
            WAIT);
      }
      server.assertAnswersOnNewConnection("after the flood");
      return null;
    } catch (AssertionError | RuntimeException e) {
      return e.getMessage();
    }
  }

  static void record(Shape shape, String label, ServerUnderTest server, Outcome outcome) {
    String line = String.format(Locale.ROOT,
        "  %-30s %-70s %-17s sent %5d streams (%5d frames) in %6.0f ms, server done %6.0f ms later; %s%s;"
            + " server resets %s; END_STREAMs %d",
        shape.frames, label, server.name, outcome.streamsSent, outcome.framesSent, outcome.floodNanos / 1e6,
        outcome.settleNanos / 1e6,
        outcome.describeOutcome(),
        outcome.goAwayCode == null ? "" : String.format(Locale.ROOT, " at %.0f ms, %s streams sent by then",
            outcome.goAwayAfterNanos / 1e6, outcome.streamsSentAtGoAway < 0 ? "all"
                : "<= " + outcome.streamsSentAtGoAway),
        outcome.resetsReceived, outcome.trailersReceived);
    if (server.guarded()) {
      line += String.format(Locale.ROOT, "; released %s", server.registry.find("grpc.server.streams.released")
          .counters().stream().filter(c -> c.count() > 0)
          .map(c -> c.getId().getTag("cause") + "=" + (long) c.count()).sorted()
          .reduce((a, b) -> a + ", " + b).orElse("none"));
    }
    figures.add(line);
    System.out.println(line);
    assertTrue(outcome.streamsSent > 0, "the flood sent nothing");
  }
}
