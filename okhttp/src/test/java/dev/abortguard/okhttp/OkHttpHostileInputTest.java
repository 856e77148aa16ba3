package dev.abortguard.okhttp;

import static dev.abortguard.okhttp.OkHttpTestServer.BIDI;
import static dev.abortguard.okhttp.OkHttpTestServer.UNARY;
import static dev.abortguard.okhttp.OkHttpTestServer.WAIT;
import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.Await;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.security.CodeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Hostile input against a guarded grpc-okhttp server, each time beside a stock one fed the same
 * bytes: the guard must do no worse than the stack it sits in.
 *
 * <p><b>Fuzz</b>: {@value #DEFAULT_CONNECTIONS} seeded connections ({@code
 * -Dabortguard.okhttp.fuzz.seed=N}, {@code -Dabortguard.okhttp.fuzz.connections=N}), each a script
 * of 10 to 40 steps drawn from the seed alone, so stock and guarded servers get the same frames
 * whatever they answer: aborted, half-closed, echo and unary calls; DATA, DATA with END_STREAM,
 * request trailers, a second HEADERS, RST_STREAM with any code, WINDOW_UPDATE and PRIORITY on open,
 * lingering, ended and reset streams; PING, harmless SETTINGS, unknown frame types, PING round
 * trips; in 40% of the connections, rarely, frames HTTP/2 answers with a connection error (DATA on
 * stream 0, an even stream id, a zero connection WINDOW_UPDATE, CONTINUATION without HEADERS, an
 * oversized frame); then an abrupt close, a GOAWAY, or half-closing every stream. Each script runs
 * against stock grpc-okhttp and the guard under each policy (grace {@code 50ms}). Checked: the
 * server ends a guarded connection (GOAWAY, close) only where it ends stock's, with the same GOAWAY
 * error code; afterwards nothing lingers, every release was timed, no mitigation
 * exceeds its aborts, each server still serves a call, and no exception with a frame in the
 * library's main code was logged or went uncaught, nor anything logged at WARNING+ by the guard;
 * the guard's threads stay few.
 *
 * <p><b>Rapid Reset</b> (CVE-2023-44487) and a MadeYouReset shape (CVE-2025-8671: HEADERS with
 * END_STREAM, then DATA on the half-closed stream): {@value #FLOOD_STREAMS} streams on one
 * connection, every {@value #ABORT_EVERY}th call aborted; grpc-okhttp 1.82 has no reset limit, so
 * stock survives; each guarded server must too, the lingering gauge must return to 0 and a new
 * connection must be served.
 */
class OkHttpHostileInputTest {
  static final int DEFAULT_CONNECTIONS = 100;
  static final long SEED = Long.getLong("abortguard.okhttp.fuzz.seed", 0x0c4e_2026_ab07L);
  static final int CONNECTIONS = Integer.getInteger("abortguard.okhttp.fuzz.connections", DEFAULT_CONNECTIONS);
  static final Duration GRACE = Duration.ofMillis(50);
  static final int FLOOD_STREAMS = 5_000;
  static final int ABORT_EVERY = 10;
  static final int BATCH = 100;
  /** DATA bytes per script: below the 65,535-byte connection window stock grpc-okhttp may never return. */
  static final int DATA_BUDGET = 40_000;

  // ------------------------------------------------------------------ fuzz

  /** What a script step does. */
  enum Op {
    ABORT, ABORT_HALF_CLOSED, ECHO, UNARY_ABORT, DATA, DATA_END, TRAILERS, HEADERS_AGAIN, RESET, WINDOW_UPDATE,
    PRIORITY, PING, SETTINGS, UNKNOWN_TYPE, SYNC,
    // Connection errors in HTTP/2.
    DATA_ON_STREAM_ZERO, EVEN_STREAM, ZERO_CONNECTION_WINDOW_UPDATE, ORPHAN_CONTINUATION, OVERSIZED_DATA
  }

  /** How a script leaves the connection. */
  enum Ending { ABRUPT_CLOSE, GOAWAY, HALF_CLOSE_ALL }

  /** One step: {@code pick} chooses a stream among those opened, {@code value} sizes or codes the frame. */
  static final class Step {
    final Op op;
    final int pick;
    final int value;

    Step(Op op, int pick, int value) {
      this.op = op;
      this.pick = pick;
      this.value = value;
    }

    @Override
    public String toString() {
      return op + "(" + pick + "," + value + ")";
    }
  }

  static final Op[] LEGAL = {Op.ABORT, Op.ABORT, Op.ABORT, Op.ABORT_HALF_CLOSED, Op.ECHO, Op.ECHO, Op.UNARY_ABORT,
      Op.DATA, Op.DATA, Op.DATA, Op.DATA_END, Op.TRAILERS, Op.TRAILERS, Op.HEADERS_AGAIN, Op.RESET, Op.RESET,
      Op.WINDOW_UPDATE, Op.PRIORITY, Op.PING, Op.SETTINGS, Op.UNKNOWN_TYPE, Op.SYNC, Op.SYNC};
  static final Op[] BREAKING = {Op.DATA_ON_STREAM_ZERO, Op.EVEN_STREAM, Op.ZERO_CONNECTION_WINDOW_UPDATE,
      Op.ORPHAN_CONTINUATION, Op.OVERSIZED_DATA};

  /** Steps on one of the streams the client opened. */
  static final Set<Op> TARGETS_A_STREAM = java.util.EnumSet.of(Op.DATA, Op.DATA_END, Op.TRAILERS, Op.HEADERS_AGAIN,
      Op.RESET, Op.PRIORITY, Op.UNKNOWN_TYPE, Op.ORPHAN_CONTINUATION, Op.OVERSIZED_DATA);

  /** A script drawn from {@code seed} alone. */
  static final class Script {
    final long seed;
    final List<Step> steps = new ArrayList<>();
    final Ending ending;

    Script(long seed) {
      this.seed = seed;
      Random random = new Random(seed);
      boolean mayBreak = random.nextInt(100) < 40;
      int length = 10 + random.nextInt(31);
      for (int i = 0; i < length; i++) {
        Op op = mayBreak && random.nextInt(100) < 3
            ? BREAKING[random.nextInt(BREAKING.length)]
            : LEGAL[random.nextInt(LEGAL.length)];
        steps.add(new Step(op, random.nextInt(1 << 16), random.nextInt(1 << 16)));
      }
      ending = Ending.values()[random.nextInt(Ending.values().length)];
    }

    @Override
    public String toString() {
      return "seed " + seed + ": " + steps + " then " + ending;
    }
  }

  /** What a script did to one server. */
  static final class Outcome {
    String server;
    Long goAwayCode;
    /**
     * The server ended the connection: a GOAWAY, an EOF, or a write that failed (a client that
     * writes on after the server closed gets a TCP reset, which may discard a GOAWAY not yet read).
     */
    boolean killed;
    int stepsRun;
    long millis;
    String frames;

    String verdict() {
      return !killed ? "open" : goAwayCode == null ? "closed, no GOAWAY read"
          : "GOAWAY " + RawHttp2Client.errorCodeName(goAwayCode);
    }

    /**
     * Whether the guarded {@code this} ended worse than stock's {@code baseline}: killed where stock
     * kept the connection, or with another GOAWAY error code. (Kept where stock killed it is not
     * worse: the guard keeps DATA on streams grpc-okhttp forgot from it.)
     */
    boolean worseThan(Outcome baseline) {
      return killed && !baseline.killed
          || goAwayCode != null && baseline.goAwayCode != null && !goAwayCode.equals(baseline.goAwayCode);
    }
  }

  /** Plays {@code script} on a new connection to {@code server}. */
  static Outcome play(OkHttpTestServer server, String name, Script script) {
    long started = System.nanoTime();
    Outcome outcome = new Outcome();
    outcome.server = name;
    try (RawHttp2Client client = server.connect()) {
      Player player = new Player(client);
      boolean writeFailed = false;
      for (Step step : script.steps) {
        if (client.isClosed() || goAway(client) != null) {
          break;
        }
        try {
          player.apply(step);
          outcome.stepsRun++;
        } catch (UncheckedIOException e) {
          writeFailed = true;
          break;
        } catch (IllegalStateException | AssertionError e) {
          break; // a wait ended: the connection closed, or it timed out (then the sync below tells)
        }
      }
      try {
        if (!writeFailed && !client.isClosed()) {
          client.sync(); // the server's verdict on everything before
        }
      } catch (UncheckedIOException e) {
        writeFailed = true;
      } catch (AssertionError e) {
        // closed meanwhile, or no answer within 5 s: isClosed() tells
      }
      if (goAway(client) != null) {
        client.awaitClosed(WAIT);
      }
      outcome.goAwayCode = goAway(client) == null ? null : goAway(client).errorCode();
      outcome.killed = writeFailed || client.isClosed() || outcome.goAwayCode != null;
      if (!outcome.killed) {
        try {
          player.end(script.ending);
        } catch (UncheckedIOException | AssertionError e) {
          // closed meanwhile
        }
      }
      outcome.frames = client.describeFrames();
    }
    outcome.millis = (System.nanoTime() - started) / 1_000_000;
    if (outcome.millis > 1000) {
      System.out.println("[okhttp fuzz] slow play on " + name + " " + outcome.millis + " ms " + script + "\n" + outcome.frames);
    }
    return outcome;
  }

  static Frame goAway(RawHttp2Client client) {
    return client.frames(0).stream().filter(f -> f.type() == GOAWAY).findFirst().orElse(null);
  }

  /**
   * Carries a script's steps out on one connection. What the server does must not depend on how
   * fast it is, or stock and guarded servers could part for reasons of timing alone: so an aborted
   * call's trailers are awaited before the next step (grpc-okhttp has forgotten the stream by
   * then), and stream WINDOW_UPDATEs only go to such streams, since on a stream grpc-okhttp still
   * has, any increment overflows the window this client advertises (2^31-1), which grpc-okhttp
   * 1.82 answers with GOAWAY(INTERNAL_ERROR).
   */
  static final class Player {
    final RawHttp2Client client;
    final List<Integer> streams = new ArrayList<>();
    final List<Integer> aborted = new ArrayList<>();
    int dataLeft = DATA_BUDGET;

    Player(RawHttp2Client client) {
      this.client = client;
    }

    /** A stream the client opened; callers skip the step while there is none. */
    int stream(Step step) {
      return streams.get(step.pick % streams.size());
    }

    void open(String path, Map<String, String> headers, boolean endStream, boolean aborts) {
      int stream = client.startCall(path, headers, endStream);
      streams.add(stream);
      if (aborts) {
        client.awaitFrame(f -> f.streamId() == stream && (f.endStream() || f.type() == RawHttp2Client.RST_STREAM), WAIT);
        aborted.add(stream);
      }
    }

    void apply(Step step) {
      if (streams.isEmpty() && TARGETS_A_STREAM.contains(step.op)) {
        return; // the client's stream ids must stay the ones it opens
      }
      switch (step.op) {
        case ABORT:
          open(BIDI, OkHttpTestServer.ABORT, false, true);
          break;
        case ABORT_HALF_CLOSED:
          open(BIDI, OkHttpTestServer.ABORT, true, true);
          break;
        case ECHO:
          open(BIDI, Map.of(), false, false);
          break;
        case UNARY_ABORT:
          open(UNARY, Map.of(TestServers.ABORT_HEADER, "UNAVAILABLE"), false, true);
          break;
        case DATA:
        case DATA_END: {
          // Zeros: empty gRPC messages, 5 bytes each, to whoever still reads the stream.
          int length = Math.min(dataLeft, step.value % 2_000);
          dataLeft -= length;
          client.sendData(stream(step), new byte[length], step.op == Op.DATA_END);
          break;
        }
        case TRAILERS:
          client.sendHeaders(stream(step), Map.of("x-trailer", "t" + step.value), true);
          break;
        case HEADERS_AGAIN:
          client.sendHeaders(stream(step), Map.of("x-again", "a" + step.value), false);
          break;
        case RESET:
          client.sendRstStream(stream(step), step.value % 3 == 0 ? RawHttp2Client.CANCEL : step.value % 14);
          break;
        case WINDOW_UPDATE:
          if (!aborted.isEmpty()) {
            int stream = aborted.get(step.pick % aborted.size());
            client.sendRawFrame(RawHttp2Client.WINDOW_UPDATE, 0, stream, int32(1 + step.value));
          }
          break;
        case PRIORITY: {
          byte[] payload = java.util.Arrays.copyOf(int32(step.value % 2 == 0 ? 0 : stream(step) + 2), 5);
          payload[4] = (byte) step.value;
          client.sendRawFrame(RawHttp2Client.PRIORITY, 0, stream(step), payload);
          break;
        }
        case PING:
          client.sendPing(step.value);
          break;
        case SETTINGS:
          // ENABLE_PUSH 0 and MAX_CONCURRENT_STREAMS: nothing the server's answers depend on.
          client.sendRawFrame(RawHttp2Client.SETTINGS, 0, 0, settings(0x2, 0, 0x3, 100 + step.value));
          break;
        case UNKNOWN_TYPE:
          client.sendRawFrame(0x20 + step.value % 16, step.value >>> 8, step.pick % 2 == 0 ? 0 : stream(step),
              new byte[step.value % 64]);
          break;
        case SYNC:
          client.sync();
          break;
        case DATA_ON_STREAM_ZERO:
          client.sendRawFrame(RawHttp2Client.DATA, 0, 0, new byte[8]);
          break;
        case EVEN_STREAM:
          client.sendHeaders(2 * (1 + step.value % 50), Map.of(":method", "POST", ":path", BIDI), false);
          break;
        case ZERO_CONNECTION_WINDOW_UPDATE:
          client.sendRawFrame(RawHttp2Client.WINDOW_UPDATE, 0, 0, int32(0));
          break;
        case ORPHAN_CONTINUATION:
          client.sendRawFrame(RawHttp2Client.CONTINUATION, RawHttp2Client.FLAG_END_HEADERS, stream(step), new byte[4]);
          break;
        case OVERSIZED_DATA:
          client.sendRawFrame(RawHttp2Client.DATA, 0, stream(step), new byte[16_385 + step.value % 1000]);
          break;
        default:
          throw new AssertionError(step.op);
      }
    }

    void end(Ending ending) {
      switch (ending) {
        case GOAWAY:
          client.sendGoAway(0, RawHttp2Client.NO_ERROR);
          break;
        case HALF_CLOSE_ALL:
          for (int stream : streams) {
            client.sendData(stream, new byte[0], true);
          }
          client.sync();
          break;
        default:
          break; // the socket just closes
      }
    }
  }

  static byte[] int32(int value) {
    return new byte[] {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value};
  }

  static byte[] settings(int... idValuePairs) {
    byte[] payload = new byte[idValuePairs.length * 3];
    for (int i = 0; i < idValuePairs.length; i += 2) {
      payload[i * 3] = (byte) (idValuePairs[i] >>> 8);
      payload[i * 3 + 1] = (byte) idValuePairs[i];
      System.arraycopy(int32(idValuePairs[i + 1]), 0, payload, i * 3 + 2, 4);
    }
    return payload;
  }

  static long connectionSeed(int connection) {
    long h = SEED + connection * 0x9e3779b97f4a7c15L;
    h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
    return h ^ (h >>> 31);
  }

  private static final String WRITER = "abortguard-okhttp-writer";

  @Test
  void randomFrameSequencesKillNoConnectionStockKeeps() {
    long started = System.nanoTime();
    List<String> findings = new ArrayList<>();
    Map<String, Integer> verdicts = new TreeMap<>();
    Map<ResetPolicy, OkHttpTestServer> guarded = new EnumMap<>(ResetPolicy.class);
    try (Problems problems = Problems.install();
        OkHttpTestServer stock = OkHttpTestServer.startStock()) {
      for (ResetPolicy policy : ResetPolicy.values()) {
        guarded.put(policy, OkHttpTestServer.start(b -> b.reset(policy).resetGrace(GRACE)));
      }
      for (int c = 0; c < CONNECTIONS; c++) {
        Script script = new Script(connectionSeed(c));
        Outcome baseline = play(stock, "stock", script);
        verdicts.merge("stock: " + baseline.verdict(), 1, Integer::sum);
        for (Map.Entry<ResetPolicy, OkHttpTestServer> entry : guarded.entrySet()) {
          Outcome outcome = play(entry.getValue(), "guarded " + entry.getKey().value(), script);
          if (baseline.killed && !outcome.killed) {
            verdicts.merge(outcome.server + " kept a connection stock killed", 1, Integer::sum);
          }
          if (outcome.worseThan(baseline)) {
            findings.add(String.format(Locale.ROOT, "connection %d, %s: %s, stock: %s (%s)%n%s%nstock's:%n%s", c,
                outcome.server, outcome.verdict(), baseline.verdict(), script, outcome.frames, baseline.frames));
          }
        }
      }
      for (Map.Entry<ResetPolicy, OkHttpTestServer> entry : guarded.entrySet()) {
        check(findings, "guarded " + entry.getKey().value(), () -> assertSettled(entry.getValue()));
      }
      check(findings, "stock", () -> {
        try (RawHttp2Client client = stock.connect()) {
          OkHttpTestServer.unaryEcho(client);
        }
      });
      findings.addAll(problems.guardProblems());
      // Writer threads are pooled and idle ones stay a while (earlier tests leave some); what
      // must not outlive the closed connections is a writer still in one of their writes.
      check(findings, "the guard's writers once every connection closed", () -> Await.until("no writer still writing",
          () -> Problems.threadsRunning(WRITER, OutboundFrames.class) == 0, WAIT));
      int writers = Problems.threadsNamed(WRITER);
      int timers = Problems.threadsNamed("abortguard-okhttp-timer");
      System.out.printf(Locale.ROOT, "[okhttp fuzz] seed %d, %d connections x (stock + %d policies), %.1f s;"
          + " outcomes %s; guard threads: %d writer(s), %d timer(s)%n", SEED, CONNECTIONS, guarded.size(),
          (System.nanoTime() - started) / 1e9, verdicts, writers, timers);
      guarded.forEach((policy, server) -> System.out.printf(Locale.ROOT, "  guarded %-9s released %s, aborts %.0f%n",
          policy.value(), releasedByCause(server), server.aborts()));
      problems.print("okhttp fuzz");
      if (timers > 1) {
        findings.add("the guard's timer threads: " + timers);
      }
    } finally {
      guarded.values().forEach(OkHttpTestServer::close);
    }
    assertTrue(verdicts.keySet().stream().anyMatch(v -> v.contains("GOAWAY")),
        "some scripts broke the connection: the comparison saw both outcomes " + verdicts);
    if (!findings.isEmpty()) {
      fail(findings.size() + " finding(s), the first 5:\n\n"
          + findings.stream().limit(5).collect(Collectors.joining("\n\n")));
    }
  }

  /** Nothing lingers, every release was timed, mitigations within aborts, and a new connection is served. */
  static void assertSettled(OkHttpTestServer server) {
    Await.until("connections closed", () -> server.openConnections() == 0, WAIT);
    Await.until("lingering gauge 0 (reads " + server.lingering() + ")", () -> server.lingering() == 0, WAIT);
    if (server.lingerTimings() != (long) server.releasedTotal()) {
      throw new AssertionError("linger.duration count " + server.lingerTimings() + " != released "
          + server.releasedTotal());
    }
    if (server.mitigated() > server.aborts()) {
      throw new AssertionError("mitigated " + server.mitigated() + " > aborts " + server.aborts());
    }
    if (server.misconfigured("transport_not_guarded") != 0) {
      throw new AssertionError("transport_not_guarded counted on a guarded server");
    }
    try (RawHttp2Client client = server.connect()) {
      OkHttpTestServer.unaryEcho(client);
    }
  }

  static String releasedByCause(OkHttpTestServer server) {
    Map<String, Long> counts = new TreeMap<>();
    for (ReleaseCause cause : ReleaseCause.values()) {
      if (server.released(cause) > 0) {
        counts.put(cause.tagValue(), (long) server.released(cause));
      }
    }
    return counts.toString();
  }

  /** Runs {@code check}; a failure becomes a finding named {@code what}. */
  static void check(List<String> findings, String what, Runnable check) {
    Throwable failure = null;
    try {
      check.run();
    } catch (AssertionError | RuntimeException e) {
      failure = e;
    }
    if (failure != null) {
      findings.add(what + ": " + Problems.stackTrace(failure));
    }
  }

  // ------------------------------------------------------------------ reset floods

  enum Flood { RAPID_RESET, HEADERS_END_STREAM_THEN_DATA }

  /** What a flood did to one server. */
  static final class FloodOutcome {
    int streamsSent;
    long millis;
    Long goAwayCode;
    boolean closedByServer;
    final Map<String, Integer> resets = new TreeMap<>();
    String afterwards;

    /** How the connection ended: the GOAWAY's error code, closed without one, or still open. */
    String ending() {
      return goAwayCode != null ? "GOAWAY " + RawHttp2Client.errorCodeName(goAwayCode)
          : closedByServer ? "closed without GOAWAY" : "still open";
    }

    String describe() {
      return String.format(Locale.ROOT, "%d streams in %d ms, %s, server resets %s%s", streamsSent, millis,
          ending(), resets, afterwards == null ? "" : "; afterwards: " + afterwards);
    }
  }

  @Test
  void rapidResetAndMadeYouResetFloodsLeaveTheServerAsStock() {
    List<String> problems = new ArrayList<>();
    try (Problems recorded = Problems.install()) {
      for (Flood flood : Flood.values()) {
        FloodOutcome baseline;
        try (OkHttpTestServer stock = OkHttpTestServer.startStock()) {
          baseline = flood(stock, flood);
          System.out.printf("[okhttp floods] %-28s stock             %s%n", flood, baseline.describe());
        }
        if (baseline.afterwards != null) {
          problems.add(flood + " stock: " + baseline.afterwards);
        }
        for (ResetPolicy policy : ResetPolicy.values()) {
          try (OkHttpTestServer server = OkHttpTestServer.start(b -> b.reset(policy).resetGrace(Duration.ofSeconds(2)))) {
            FloodOutcome outcome = flood(server, flood);
            System.out.printf("[okhttp floods] %-28s guarded %-9s %s; released %s%n", flood, policy.value(),
                outcome.describe(), releasedByCause(server));
            String name = flood + " guarded " + policy.value();
            if (!outcome.ending().equals(baseline.ending())) {
              problems.add(name + ": " + outcome.describe() + ", stock: " + baseline.describe());
            }
            if (outcome.afterwards != null) {
              problems.add(name + ": " + outcome.afterwards);
            }
          }
        }
      }
      problems.addAll(recorded.guardProblems());
      recorded.print("okhttp floods");
    }
    if (!problems.isEmpty()) {
      fail(String.join("\n", problems));
    }
  }

  /**
   * {@value #FLOOD_STREAMS} streams in batches of {@value #BATCH}, one socket write each; then a
   * PING round trip for the server's verdict, the close, and the aftermath.
   */
  static FloodOutcome flood(OkHttpTestServer server, Flood flood) {
    FloodOutcome outcome = new FloodOutcome();
    long start = System.nanoTime();
    try (RawHttp2Client client = server.connect()) {
      try {
        while (outcome.streamsSent < FLOOD_STREAMS && !client.isClosed() && goAway(client) == null) {
          int first = outcome.streamsSent;
          client.corked(() -> {
            for (int i = 0; i < BATCH; i++) {
              boolean abort = (first + i) % ABORT_EVERY == 0;
              Map<String, String> headers = abort ? OkHttpTestServer.ABORT : Map.of();
              if (flood == Flood.RAPID_RESET) {
                client.sendRstStream(client.startCall(BIDI, headers, false), RawHttp2Client.CANCEL);
              } else {
                int stream = client.startCall(BIDI, headers, true);
                client.sendRawFrame(RawHttp2Client.DATA, 0, stream, RawHttp2Client.lengthPrefixed(new byte[8]));
              }
            }
          });
          outcome.streamsSent += BATCH;
        }
        client.sync();
      } catch (UncheckedIOException | AssertionError e) {
        // closed by the server
      }
      outcome.millis = (System.nanoTime() - start) / 1_000_000;
      Frame goAway = goAway(client);
      if (goAway != null) {
        client.awaitClosed(WAIT);
        outcome.goAwayCode = goAway.errorCode();
      }
      outcome.closedByServer = client.isClosed();
      for (Frame frame : client.frames()) {
        if (frame.type() == RawHttp2Client.RST_STREAM) {
          outcome.resets.merge(RawHttp2Client.errorCodeName(frame.errorCode()), 1, Integer::sum);
        }
      }
    }
    try {
      assertSettled(server);
    } catch (AssertionError | RuntimeException e) {
      outcome.afterwards = e.getMessage();
    }
    return outcome;
  }

  // ------------------------------------------------------------------ problems

  /**
   * What goes wrong inside the servers while a hostile test runs: JUL records from {@code io.grpc}
   * and {@code dev.abortguard} at WARNING+ or with a throwable (kept, not printed), and uncaught
   * exceptions. {@link #guardProblems} names the ones that concern the guard: throwables with a
   * frame in the library's main code (not its tests, which share its packages), WARNING+ from the
   * guard's own loggers, and anything uncaught.
   */
  static final class Problems implements AutoCloseable {
    private final LogRecords records = LogRecords.quiet(
        r -> r.getLevel().intValue() >= Level.WARNING.intValue() || r.getThrown() != null, "io.grpc", "dev.abortguard");
    private final Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
    private final List<String> uncaught = Collections.synchronizedList(new ArrayList<>());

    private Problems() {
      Thread.setDefaultUncaughtExceptionHandler((thread, e) -> uncaught.add(thread.getName() + ": " + stackTrace(e)));
    }

    static Problems install() {
      return new Problems();
    }

    List<String> guardProblems() {
      List<String> problems = new ArrayList<>();
      for (LogRecord record : records.records()) {
        boolean fromGuard = String.valueOf(record.getLoggerName()).startsWith("dev.abortguard");
        if (fromGuard && record.getLevel().intValue() >= Level.WARNING.intValue()) {
          problems.add("the guard logged " + record.getLevel() + ": " + record.getMessage());
        } else if (throwsFromMainCode(record.getThrown(), Collections.newSetFromMap(new IdentityHashMap<>()))) {
          problems.add("logged by " + record.getLoggerName() + ": " + stackTrace(record.getThrown()));
        }
      }
      synchronized (uncaught) {
        uncaught.forEach(e -> problems.add("uncaught in " + e));
      }
      return problems;
    }

    /** How many records each logger and message (digits as N) produced, with the throwable. */
    void print(String label) {
      Map<String, Integer> counts = new TreeMap<>();
      for (LogRecord record : records.records()) {
        String key = record.getLoggerName() + ": " + record.getMessage()
            + (record.getThrown() == null ? "" : " [" + record.getThrown() + "]");
        counts.merge(key.replaceAll("\\d+", "N"), 1, Integer::sum);
      }
      System.out.println("[" + label + "] log records (WARNING+, or with a throwable), by logger and message:");
      counts.forEach((key, count) -> System.out.printf(Locale.ROOT, "  %6d  %s%n", count,
          key.length() > 150 ? key.substring(0, 150) : key));
    }

    /** Whether {@code thrown}, a cause or a suppressed one, not I/O, has a frame in the library's main classes. */
    static boolean throwsFromMainCode(Throwable thrown, Set<Throwable> seen) {
      if (thrown == null || thrown instanceof IOException || !seen.add(thrown)) {
        return false;
      }
      if (Arrays.stream(thrown.getStackTrace()).map(StackTraceElement::getClassName).anyMatch(Problems::isMainCode)) {
        return true;
      }
      return throwsFromMainCode(thrown.getCause(), seen)
          || Arrays.stream(thrown.getSuppressed()).anyMatch(suppressed -> throwsFromMainCode(suppressed, seen));
    }

    private static final Map<String, Boolean> MAIN = new ConcurrentHashMap<>();

    /** A {@code dev.abortguard} class loaded from a main (not test) class path entry. */
    static boolean isMainCode(String className) {
      return className.startsWith("dev.abortguard.") && MAIN.computeIfAbsent(className, name -> {
        try {
          CodeSource source = Class.forName(name, false, Problems.class.getClassLoader())
              .getProtectionDomain().getCodeSource();
          String path = source == null || source.getLocation() == null ? "" : source.getLocation().getPath();
          return !path.contains("test-classes") && !path.endsWith("-tests.jar");
        } catch (ClassNotFoundException | LinkageError e) {
          return false;
        }
      });
    }

    static int threadsNamed(String prefix) {
      return (int) Thread.getAllStackTraces().keySet().stream()
          .filter(thread -> thread.isAlive() && thread.getName().startsWith(prefix)).count();
    }

    /** Threads named {@code prefix...} with a frame of {@code type} on their stack: running its code now. */
    static int threadsRunning(String prefix, Class<?> type) {
      return (int) Thread.getAllStackTraces().entrySet().stream()
          .filter(e -> e.getKey().isAlive() && e.getKey().getName().startsWith(prefix))
          .filter(e -> Arrays.stream(e.getValue()).anyMatch(f -> f.getClassName().startsWith(type.getName())))
          .count();
    }

    static String stackTrace(Throwable thrown) {
      StringWriter text = new StringWriter();
      thrown.printStackTrace(new PrintWriter(text));
      return text.toString();
    }

    @Override
    public void close() {
      records.close();
      Thread.setDefaultUncaughtExceptionHandler(previous);
    }
  }
}
