package dev.abortguard.testing;

import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.RawHttp2Client.Frame;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.provider.Arguments;

/**
 * Metrics equal the wire, for every release cause, on every stack: each stack's test runs every
 * {@link ResetPolicy} against every {@link Scenario}, and each scenario says which of its aborted
 * streams must be released with which cause. A cause that resets must have exactly one
 * RST_STREAM(NO_ERROR) on the wire for each stream it counted; a cause that does not, none; a
 * stream still lingering, none. {@code grpc.server.streams.released} must read exactly those
 * counts (no release counted twice or under another cause), {@code grpc.server.streams.lingering}
 * the rest, and, on stacks with the call layer, {@code reset_withheld} only the aborts the guard
 * really left to linger: not one it reset at once (the server-wide bound, a GOAWAY already sent).
 */
public final class ReleaseCauseMatrix {
  private static final Duration WAIT = Duration.ofSeconds(5);
  /** The grace of the {@link Scenario#GRACE} scenario; the others wait far longer than a test. */
  private static final Duration SHORT_GRACE = Duration.ofMillis(300);
  private static final Duration LONG_GRACE = Duration.ofMinutes(1);
  private static final String BIDI = TestServers.path(TestServers.BIDI);
  private static final String ABORT_ON_MESSAGE = TestServers.path(TestServers.ABORT_ON_MESSAGE);
  private static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");

  /** What happens to the aborted streams the client leaves open. */
  public enum Scenario {
    /** Nothing: the grace runs out. */
    GRACE,
    /** The client ends the stream (empty DATA with END_STREAM). */
    PEER_END_STREAM,
    /** The client resets the stream (RST_STREAM(CANCEL)). */
    PEER_RESET,
    /** A second abort on a connection whose {@code lingering.max} is 1. */
    CONNECTION_CAP,
    /** A second abort with the guard's {@code lingering.maxTotal} at 1. */
    SERVER_WIDE_CAP,
    /** The server shuts down (its GOAWAY) while the stream lingers. */
    SHUTDOWN,
    /** A call running when the server shuts down is aborted after its GOAWAY: reset at once. */
    ABORT_AFTER_SHUTDOWN,
    /** A GOAWAY that is not a shutdown: the connection's max age. */
    MAX_AGE_GOAWAY,
    /** The client closes its socket. */
    CONNECTION_CLOSE
  }

  /** A guarded test server of one stack, as the matrix drives it: what the stack's own test server offers. */
  public static final class Server implements GuardMeters, AutoCloseable {
    private final GuardMeters meters;
    private final Supplier<RawHttp2Client> connect;
    private final Runnable startShutdown;
    private final Runnable close;

    /**
     * @param meters the guard's meters
     * @param connect a raw client on a new connection
     * @param startShutdown starts the server's graceful shutdown, which sends GOAWAY, and returns at once
     * @param close stops the server at once
     */
    public Server(GuardMeters meters, Supplier<RawHttp2Client> connect, Runnable startShutdown, Runnable close) {
      this.meters = meters;
      this.connect = connect;
      this.startShutdown = startShutdown;
      this.close = close;
    }

    RawHttp2Client connect() {
      return connect.get();
    }

    void startShutdown() {
      startShutdown.run();
    }

    @Override
    public MeterRegistry registry() {
      return meters.registry();
    }

    @Override
    public void close() {
      close.run();
    }
  }

  /** One stack: how to start its guarded server, and the facts of its own the matrix must know. */
  public interface Stack {
    /**
     * A server serving {@link TestServers#echoService()} (its aborts and {@link
     * TestServers#ABORT_ON_MESSAGE}), guarded by a builder {@code guardOptions} configures (reading
     * no system properties, recording into the server's registry). With {@code maxAge} its
     * connections reach a max age within about a second of opening (the matrix aborts its call first), and it sends GOAWAY(NO_ERROR)
     * without shutting down.
     */
    Server start(UnaryOperator<AbortGuard.Builder> guardOptions, boolean maxAge);

    /** The cause a GOAWAY of the server's shutdown gives the streams it resets. */
    ReleaseCause shutdownCause();

    /** The cause a max-age GOAWAY gives them, or {@code null} if the stack has no max connection age. */
    ReleaseCause maxAgeCause();

    /**
     * Under {@link ResetPolicy#NEVER}, what becomes of a lingering stream when the server sends
     * GOAWAY: {@code null} if it keeps lingering (the server waits for it, as stock grpc-netty
     * does), or {@link ReleaseCause#CONNECTION_CLOSED} if the stack itself closes the connection.
     */
    ReleaseCause neverAfterGoAway();

    /**
     * Whether the stack answers the peer's late frames on a stream the guard reset with
     * RST_STREAM(STREAM_CLOSED), as it does without the guard ({@link LateFrames}): grpc-netty and
     * Armeria, whose handlers set no limit on such answers, so the guard leaves them be.
     */
    default boolean answersLateFrames() {
      return false;
    }

    /** Whether the stack has the call layer, which counts aborts. */
    boolean countsAborts();

    /** Whether it also counts {@code reset_withheld}, which needs both halves of the guard to see each other. */
    default boolean countsResetWithheld() {
      return countsAborts();
    }
  }

  private ReleaseCauseMatrix() {}

  /** Every policy with every scenario. */
  public static Stream<Arguments> policiesAndScenarios() {
    List<Arguments> cases = new ArrayList<>();
    for (ResetPolicy policy : ResetPolicy.values()) {
      for (Scenario scenario : Scenario.values()) {
        cases.add(Arguments.of(policy, scenario));
      }
    }
    return cases.stream();
  }

  /** Runs {@code scenario} under {@code policy} on a new server of {@code stack}. */
  public static void run(Stack stack, ResetPolicy policy, Scenario scenario) {
    Assumptions.assumeTrue(scenario != Scenario.MAX_AGE_GOAWAY || stack.maxAgeCause() != null,
        "this stack has no max connection age");
    UnaryOperator<AbortGuard.Builder> options = b -> {
      b.reset(policy).resetGrace(scenario == Scenario.GRACE ? SHORT_GRACE : LONG_GRACE);
      if (scenario == Scenario.CONNECTION_CAP) {
        b.lingeringMax(1);
      } else if (scenario == Scenario.SERVER_WIDE_CAP) {
        b.lingeringMaxTotal(1);
      }
      return b;
    };
    try (Server server = stack.start(options, scenario == Scenario.MAX_AGE_GOAWAY);
        RawHttp2Client client = server.connect()) {
      new Run(stack, policy, scenario, server, client).play();
    }
  }

  /** One scenario under one policy: drives the client, then checks the wire against the meters. */
  private static final class Run {
    private final Stack stack;
    private final ResetPolicy policy;
    private final Scenario scenario;
    private final Server server;
    private final RawHttp2Client client;
    /** Each aborted stream and the cause it must be released with; {@code null}: still lingering. */
    private final Map<Integer, ReleaseCause> expected = new LinkedHashMap<>();
    /** The expected cause of a stream that is not released: it still lingers. */
    private static final ReleaseCause LINGERS = null;
    private int withheld;

    Run(Stack stack, ResetPolicy policy, Scenario scenario, Server server, RawHttp2Client client) {
      this.stack = stack;
      this.policy = policy;
      this.scenario = scenario;
      this.server = server;
      this.client = client;
    }

    void play() {
      boolean immediate = policy == ResetPolicy.IMMEDIATE;
      boolean deferred = policy == ResetPolicy.DEFERRED;
      switch (scenario) {
        case GRACE: {
          int stream = abort();
          expect(stream, immediate ? ReleaseCause.IMMEDIATE : deferred ? ReleaseCause.GRACE_EXPIRED : LINGERS);
          if (policy == ResetPolicy.NEVER) {
            client.assertNoFrame(EarlyCloseExpectations.rstOn(stream), SHORT_GRACE.plusMillis(300));
          }
          break;
        }
        case PEER_END_STREAM: {
          int stream = abort();
          expect(stream, immediate ? ReleaseCause.IMMEDIATE : ReleaseCause.PEER_END_STREAM);
          if (!immediate) {
            client.sendData(stream, new byte[0], true);
          }
          break;
        }
        case PEER_RESET: {
          int stream = abort();
          expect(stream, immediate ? ReleaseCause.IMMEDIATE : ReleaseCause.PEER_RESET);
          if (!immediate) {
            client.sendRstStream(stream, RawHttp2Client.CANCEL);
          }
          break;
        }
        case CONNECTION_CAP: {
          int eldest = abort();
          int second = abort();
          expect(eldest, immediate ? ReleaseCause.IMMEDIATE : deferred ? ReleaseCause.OVERFLOW : LINGERS);
          expect(second, immediate ? ReleaseCause.IMMEDIATE : LINGERS);
          break;
        }
        case SERVER_WIDE_CAP: {
          int first = abort();
          int second = abort();
          expect(first, immediate ? ReleaseCause.IMMEDIATE : LINGERS);
          // Reset at once as it ends: its reset was never withheld.
          expect(second, immediate ? ReleaseCause.IMMEDIATE : deferred ? ReleaseCause.TOTAL_LIMIT : LINGERS);
          withheld = deferred ? 1 : 0;
          break;
        }
        case SHUTDOWN: {
          int stream = abort();
          client.sync();
          server.startShutdown();
          client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
          expect(stream, immediate ? ReleaseCause.IMMEDIATE : deferred ? stack.shutdownCause() : stack.neverAfterGoAway());
          break;
        }
        case ABORT_AFTER_SHUTDOWN: {
          int stream = client.startCall(ABORT_ON_MESSAGE, Map.of(), false);
          client.sync();
          server.startShutdown();
          client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
          client.sendMessage(stream, "abort me".getBytes(StandardCharsets.UTF_8), false);
          Frame trailers = client.awaitFrame(f -> f.streamId() == stream && f.type() == HEADERS && f.endStream(), WAIT);
          assertEquals("7", trailers.header("grpc-status"), client.describeFrames());
          expect(stream, immediate ? ReleaseCause.IMMEDIATE : deferred ? stack.shutdownCause() : stack.neverAfterGoAway());
          withheld = 0;
          break;
        }
        case MAX_AGE_GOAWAY: {
          int stream = abort();
          client.awaitFrame(f -> f.type() == GOAWAY, WAIT);
          expect(stream, immediate ? ReleaseCause.IMMEDIATE : deferred ? stack.maxAgeCause() : stack.neverAfterGoAway());
          break;
        }
        case CONNECTION_CLOSE: {
          int stream = abort();
          expect(stream, immediate ? ReleaseCause.IMMEDIATE : ReleaseCause.CONNECTION_CLOSED);
          if (!immediate) {
            client.sync();
            client.assertNoFrame(EarlyCloseExpectations.rstOn(stream), Duration.ZERO);
            client.close();
          }
          break;
        }
        default:
          throw new AssertionError(scenario);
      }
      if (scenario != Scenario.SERVER_WIDE_CAP && scenario != Scenario.ABORT_AFTER_SHUTDOWN) {
        withheld = deferred ? expected.size() : 0;
      }
      check();
    }

    /** A call the server aborts at once, which the client leaves open. */
    private int abort() {
      int stream = client.startCall(BIDI, ABORT, false);
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      assertEquals("7", trailers.header("grpc-status"), client.describeFrames());
      return stream;
    }

    private void expect(int stream, ReleaseCause cause) {
      expected.put(stream, cause);
    }

    private String context() {
      return policy + " / " + scenario + ", expected " + expected + "\n" + client.describeFrames();
    }

    private void check() {
      Map<ReleaseCause, Integer> counts = new EnumMap<>(ReleaseCause.class);
      int lingering = 0;
      for (Map.Entry<Integer, ReleaseCause> entry : expected.entrySet()) {
        ReleaseCause cause = entry.getValue();
        if (cause == null) {
          lingering++;
          continue;
        }
        counts.merge(cause, 1, Integer::sum);
        if (cause.resetsStream()) {
          Frame rst = client.awaitFrame(EarlyCloseExpectations.rstOn(entry.getKey()), WAIT);
          assertEquals(NO_ERROR, rst.errorCode(), context());
        }
      }
      for (Map.Entry<ReleaseCause, Integer> count : counts.entrySet()) {
        int times = count.getValue();
        assertEquals(times, server.released(count.getKey(), times),
            "grpc.server.streams.released{cause=" + count.getKey().tagValue() + "}, " + context());
      }
      int released = expected.size() - lingering;
      assertEquals(released, server.releasedTotal(), "releases of any cause, " + context());
      assertEquals(lingering, server.lingering(), "still lingering, " + context());
      client.syncUnlessClosed(); // a GOAWAY may be followed by the server's close
      for (Map.Entry<Integer, ReleaseCause> entry : expected.entrySet()) {
        long resets = client.frames(entry.getKey()).stream().filter(f -> f.type() == RST_STREAM).count();
        boolean resetByTheGuard = entry.getValue() != null && entry.getValue().resetsStream();
        assertEquals(resetByTheGuard ? 1 : 0, resets, "RST_STREAM frames on stream " + entry.getKey()
            + " (cause " + entry.getValue() + "), " + context());
      }
      if (stack.countsAborts()) {
        int aborts = expected.size();
        assertEquals(aborts, server.abortsReaching(aborts), "grpc.server.aborts, " + context());
      }
      if (stack.countsResetWithheld()) {
        assertEquals(withheld, server.mitigatedReaching(withheld, "mitigation", "reset_withheld"),
            "grpc.server.aborts.mitigated{mitigation=reset_withheld}, " + context());
      }
    }
  }
}
