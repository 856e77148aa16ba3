package dev.abortguard.hostile;

import static org.junit.jupiter.api.Assertions.fail;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.EarlyCloseExpectations;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A seeded, bounded fuzz test: random HTTP/2 frame sequences, legal and not, interleaved with
 * aborted and normal calls, against both adapters (grpc-java's Netty server and a plain Netty
 * {@code Http2FrameCodec} server, each guarded) under each reset policy, with Netty's leak detector
 * at paranoid.
 *
 * <p>Each server gets {@value #DEFAULT_CONNECTIONS} connections, one at a time; each connection
 * runs 8 to 16 bursts of 1 to 5 operations ({@link FuzzConnection}): new calls (aborted, echo,
 * unary, unimplemented, malformed; HEADERS plain, padded, with a priority or continued in
 * CONTINUATION frames), DATA with and without END_STREAM on open, lingering, ended, closed and idle
 * streams, request trailers and HEADERS without END_STREAM, RST_STREAM with any code,
 * WINDOW_UPDATE (0, overflowing, on the connection), PRIORITY, PING, SETTINGS, unknown frame types,
 * CONTINUATION without HEADERS, oversized frames, GOAWAY and abrupt closes. About 60% of the
 * connections send only frames after which HTTP/2 allows at most a stream error; the others may
 * also send, now and then, frames that allow a connection error. Checked per connection: the
 * server keeps a connection alive (and it serves a call) as long as every frame sent allows at
 * most a stream error; a stream error on an open or lingering stream is answered with RST_STREAM;
 * the lingering gauge matches what the wire shows lingering and is back to 0 after the close; the
 * releases counted ({@code grpc.server.streams.released}, all causes: one per stream that
 * lingered, i.e. per gauge increment) lie between the streams that certainly lingered (the client
 * saw the server's END_STREAM before it ended the stream itself) and those that possibly did;
 * every RST_STREAM(NO_ERROR) the guard sent was counted with a resetting cause; causes fit the
 * policy; {@code abortguard.misconfigured} stays 0. Per server: it still answers on a new
 * connection (every 10 connections and at the end), {@code grpc.server.aborts.mitigated} never
 * exceeds {@code grpc.server.aborts} for the same service, method and status code, the linger
 * timer saw every release, no new Netty leak (every 25 connections and at the end), and no
 * exception with a frame in the guard's code was logged (at WARNING+, or as the cause of a
 * grpc-java connection error) or went uncaught.
 *
 * <p>Replay: {@code -Dabortguard.fuzz.seed=N} changes the seed; {@code
 * -Dabortguard.fuzz.only=grpc-deferred#17} runs one connection alone, {@code
 * -Dabortguard.fuzz.servers=grpc} only the servers whose name starts so; {@code
 * -Dabortguard.fuzz.stock=true} runs the same sequences against stock servers (no guard: meters
 * not checked), to tell the guard's behaviour from the stack's.
 */
@ExtendWith(LeakDetectionExtension.class)
class HostileFramesFuzzTest {
  static final int DEFAULT_CONNECTIONS = 60;
  static final long SEED = Long.getLong("abortguard.fuzz.seed", 0x5eed_ab07_2026L);
  static final int CONNECTIONS = Integer.getInteger("abortguard.fuzz.connections", DEFAULT_CONNECTIONS);
  static final String ONLY = System.getProperty("abortguard.fuzz.only");
  static final String SERVERS = System.getProperty("abortguard.fuzz.servers", "");
  static final boolean STOCK = Boolean.getBoolean("abortguard.fuzz.stock");
  static final Duration GRACE = Duration.ofMillis(200);
  static final int MAX_FINDINGS_SHOWN = 8;

  enum Transport {
    GRPC("grpc"),
    FRAME_CODEC("codec");

    final String label;

    Transport(String label) {
      this.label = label;
    }
  }

  static ServerProblems problems;
  static int leaksBefore;
  static final List<String> figures = new ArrayList<>();
  static long classStarted;

  @BeforeAll
  static void startRecording() {
    classStarted = System.nanoTime();
    leaksBefore = LeakDetectionExtension.collectLeaks().size();
    problems = ServerProblems.install();
  }

  @AfterAll
  static void stopRecording() {
    problems.close();
    System.out.printf(Locale.ROOT, "%n[hostile fuzz] seed %d, %d connection(s) per server, %.1f s in all%n%s%n",
        SEED, CONNECTIONS, (System.nanoTime() - classStarted) / 1e9, String.join("\n", figures));
    System.out.println("[hostile fuzz] log records by logger and message (WARNING+; FINE ones carry a throwable):");
    problems.warningCounts().forEach((key, count) -> System.out.printf(Locale.ROOT, "  %6d  %s%n", count, key));
    System.out.printf(Locale.ROOT, "[%s] of which thrown by the stack under the guard's pass-through frame listener: %d%n",
        "hostile fuzz", problems.passedThrough());
  }

  static Stream<Arguments> servers() {
    List<Arguments> servers = new ArrayList<>();
    for (Transport transport : Transport.values()) {
      for (ResetPolicy policy : ResetPolicy.values()) {
        servers.add(Arguments.of(transport, policy));
      }
    }
    return servers.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("servers")
  void randomFrameSequences(Transport transport, ResetPolicy policy) {
    String name = transport.label + "-" + policy.value();
    if (ONLY != null && !ONLY.startsWith(name + "#") || !name.startsWith(SERVERS)) {
      return;
    }
    long started = System.nanoTime();
    List<String> findings = new ArrayList<>();
    Totals totals = new Totals();
    try (ServerUnderTest server = start(transport, policy, name)) {
      for (int c = 0; c < CONNECTIONS; c++) {
        String id = name + "#" + c;
        if (ONLY != null && !ONLY.equals(id)) {
          continue;
        }
        int knownGuardThrowables = problems.guardThrowables().size();
        int knownGuardWarnings = problems.guardWarnings().size();
        FuzzConnection connection = new FuzzConnection(server, policy, GRACE, id, connectionSeed(name, c));
        try {
          connection.run();
        } catch (RuntimeException | AssertionError e) {
          connection.finding("the connection could not run: " + ServerProblems.stackTrace(e));
        }
        List<String> guardThrowables = problems.guardThrowables();
        for (String thrown : guardThrowables.subList(knownGuardThrowables, guardThrowables.size())) {
          connection.finding("an exception passed through the guard's code (logged or uncaught) during or after"
              + " this connection:\n" + thrown);
        }
        List<String> guardWarnings = problems.guardWarnings();
        for (String warning : guardWarnings.subList(knownGuardWarnings, guardWarnings.size())) {
          connection.finding("the guard logged: " + warning);
        }
        String replay = "\n    replay: -Dtest=HostileFramesFuzzTest -Dabortguard.fuzz.seed=" + SEED
            + " -Dabortguard.fuzz.only=" + id;
        connection.findings.forEach(finding -> findings.add(finding.replaceFirst("\n", replay + "\n")));
        totals.add(connection);
        if (c % 10 == 9 || c == CONNECTIONS - 1) {
          check(findings, name + " after connection " + c, () -> server.assertAnswersOnNewConnection(id));
        }
        if (c % 25 == 24) {
          checkNoNewLeaks(findings, name + " after connection " + c);
        }
      }
      check(findings, name + " at the end", () -> assertAbortAndEchoOnNewConnection(server));
      if (server.guarded()) {
        check(findings, name + " meters", () -> assertMetersConsistent(server));
      }
      checkNoNewLeaks(findings, name + " at the end");
      figures.add(totals.describe(name, server, System.nanoTime() - started, findings.size()));
    }
    if (!findings.isEmpty()) {
      fail(findings.size() + " finding(s) on " + name + " (seed " + SEED + "L), the first "
          + Math.min(findings.size(), MAX_FINDINGS_SHOWN) + ":\n\n"
          + findings.stream().limit(MAX_FINDINGS_SHOWN).collect(Collectors.joining("\n\n")));
    }
  }

  static ServerUnderTest start(Transport transport, ResetPolicy policy, String name) {
    UnaryOperator<AbortGuard.Builder> guard = STOCK ? b -> b.enabled(false) : b -> b.reset(policy).resetGrace(GRACE);
    if (transport == Transport.GRPC) {
      return ServerUnderTest.grpc(name, STOCK ? null : guard, b -> b);
    }
    return ServerUnderTest.frameCodec(name, guard, codec -> codec);
  }

  static long connectionSeed(String server, int connection) {
    long h = SEED ^ (server.hashCode() * 0x9e3779b97f4a7c15L) ^ (connection * 0xbf58476d1ce4e5b9L);
    h ^= h >>> 31;
    return h * 0x94d049bb133111ebL;
  }

  /** An aborted call gets PERMISSION_DENIED trailers-only, and an echo call its echo. */
  static void assertAbortAndEchoOnNewConnection(ServerUnderTest server) {
    try (RawHttp2Client client = server.connect()) {
      int stream = client.startCall(ServerUnderTest.BIDI, Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"),
          false);
      Frame trailers = client.awaitFrame(stream, RawHttp2Client.HEADERS, Duration.ofSeconds(5));
      EarlyCloseExpectations.assertTrailersOnly(client, stream, trailers);
      client.sendData(stream, new byte[0], true);
      ServerUnderTest.assertEchoCall(client, "the end");
      if (server.guarded()) {
        client.sync();
        Await.until(server, 0);
      }
    }
  }

  /**
   * Per service, method and status code, each mitigation counted at most once per abort; the
   * linger timer saw every release; nothing lingers.
   */
  static void assertMetersConsistent(ServerUnderTest server) {
    Await.until(server, 0);
    StringBuilder problems = new StringBuilder();
    for (Counter mitigated : server.registry.find("grpc.server.aborts.mitigated").counters()) {
      String service = mitigated.getId().getTag("service");
      String method = mitigated.getId().getTag("method");
      String code = mitigated.getId().getTag("statusCode");
      double aborts = server.aborts("service", service, "method", method, "statusCode", code);
      if (mitigated.count() > aborts) {
        problems.append(String.format(Locale.ROOT, "%n  %s/%s %s: mitigated{%s} %.0f > aborts %.0f", service, method,
            code, mitigated.getId().getTag("mitigation"), mitigated.count(), aborts));
      }
    }
    Timer duration = server.registry.find("grpc.server.streams.linger.duration").timer();
    double timed = duration == null ? 0 : duration.count();
    if (timed != server.releasedTotal()) {
      problems.append(String.format(Locale.ROOT, "%n  linger.duration count %.0f != released total %.0f", timed,
          server.releasedTotal()));
    }
    if (problems.length() > 0) {
      throw new AssertionError("inconsistent meters on " + server + ":" + problems);
    }
  }

  static void checkNoNewLeaks(List<String> findings, String when) {
    List<LeakDetectionExtension.Leak> leaks = LeakDetectionExtension.collectLeaks();
    if (leaks.size() > leaksBefore) {
      findings.add(when + ": " + (leaks.size() - leaksBefore) + " new Netty leak(s):\n"
          + leaks.subList(leaksBefore, leaks.size()).stream().map(Object::toString)
              .collect(Collectors.joining("\n\n")));
      leaksBefore = leaks.size();
    }
  }

  static void check(List<String> findings, String when, Runnable check) {
    try {
      check.run();
    } catch (AssertionError | RuntimeException e) {
      findings.add(when + ": " + ServerProblems.stackTrace(e));
    }
  }

  /** Waits for a server's lingering gauge. */
  static final class Await {
    static void until(ServerUnderTest server, double lingering) {
      dev.abortguard.testing.Await.until("lingering gauge " + lingering + " on " + server,
          () -> server.lingering() == lingering, Duration.ofSeconds(5));
    }
  }

  /** The figures printed per server. */
  static final class Totals {
    int connections;
    int sequences;
    int framesSent;
    int framesReceived;
    int serverClosed;
    int stayedUsable;
    int certainLingerers;
    double lingered;
    final Map<String, Integer> goAways = new TreeMap<>();

    void add(FuzzConnection c) {
      connections++;
      sequences += c.sequences;
      framesSent += c.framesSent;
      framesReceived += c.framesReceived;
      serverClosed += c.serverClosed ? 1 : 0;
      stayedUsable += c.stayedUsable ? 1 : 0;
      lingered += c.lingered;
      certainLingerers += c.certainLingerers;
      if (c.serverGoAway != null) {
        goAways.merge(c.serverGoAway.replaceAll(" last=\\d+", ""), 1, Integer::sum);
      }
    }

    String describe(String name, ServerUnderTest server, long nanos, int findings) {
      StringBuilder text = new StringBuilder(String.format(Locale.ROOT,
          "  %-16s %5.1f s: %d connections, %d bursts, %d frames sent, %d received; %d closed by the server,"
              + " %d served a call after the fuzzing; %.0f streams lingered (%d certainly); %d finding(s)",
          name, nanos / 1e9, connections, sequences, framesSent, framesReceived, serverClosed, stayedUsable, lingered,
          certainLingerers, findings));
      if (server.guarded()) {
        text.append(String.format(Locale.ROOT, "%n      released by cause: %s", server.registry
            .find("grpc.server.streams.released").counters().stream()
            .filter(counter -> counter.count() > 0)
            .map(counter -> counter.getId().getTag("cause") + "=" + (long) counter.count())
            .sorted().collect(Collectors.joining(", "))));
        if (server.isGrpc()) {
          text.append(String.format(Locale.ROOT, "; aborts %.0f, mitigated %.0f", server.aborts(),
              server.mitigated()));
        }
      }
      if (!goAways.isEmpty()) {
        text.append(String.format(Locale.ROOT, "%n      server GOAWAYs: %s", goAways));
      }
      return text.toString();
    }
  }
}
