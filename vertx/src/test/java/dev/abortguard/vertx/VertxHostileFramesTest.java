package dev.abortguard.vertx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.Await;
import dev.abortguard.testing.EarlyCloseExpectations;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.TestServers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A seeded stream of legal but unkind peer frames against a guarded Vert.x server, under Netty's
 * paranoid leak detector: aborted calls left open, DATA, request trailers, RST_STREAM with any
 * code and PING, on streams lingering, released or ended. The same seeded frames
 * go to stock Vert.x first: the guarded server closes no connection that stock keeps. After each
 * connection closes nothing lingers, and a new connection is served. A failure names its seed;
 * rerun one with {@code -Dvertx.fuzz.seed=N}.
 */
@ExtendWith(LeakDetectionExtension.class)
class VertxHostileFramesTest {
  static final int CONNECTIONS = 12;
  static final int FRAMES = 60;
  static final Duration WAIT = Duration.ofSeconds(5);
  static final String BIDI = TestServers.path(TestServers.BIDI);

  @ParameterizedTest
  @EnumSource(ResetPolicy.class)
  void unkindPeersLeaveNothingBehindAndCloseNoMoreThanStock(ResetPolicy policy) {
    long seed = Long.getLong("vertx.fuzz.seed", 20261207L + policy.ordinal());
    boolean[] stockClosed;
    try (VertxTestServer stock = VertxTestServer.startStock()) {
      stockClosed = run(stock, seed);
    }
    try (VertxTestServer server = VertxTestServer.start(b -> b.reset(policy).resetGrace(Duration.ofMillis(50))
            .lingeringMax(4))) {
      boolean[] closed = run(server, seed);
      for (int c = 0; c < CONNECTIONS; c++) {
        assertTrue(!closed[c] || stockClosed[c], "seed " + seed + ": the guarded server closed connection " + c
            + ", stock Vert.x did not");
      }
      try (RawHttp2Client fresh = server.connect()) {
        EarlyCloseExpectations.servesAnEcho(fresh, BIDI);
      }
      assertEquals(0, server.lingering(), "seed " + seed);
      System.out.printf("[vertx fuzz] %s seed %d: connections closed by the server: stock %s, guarded %s%n",
          policy, seed, java.util.Arrays.toString(stockClosed), java.util.Arrays.toString(closed));
    }
  }

  /** Plays the seeded frames on {@value #CONNECTIONS} connections; which ones the server closed. */
  private static boolean[] run(VertxTestServer server, long seed) {
    Random random = new Random(seed);
    boolean[] closed = new boolean[CONNECTIONS];
    for (int c = 0; c < CONNECTIONS; c++) {
      try (RawHttp2Client client = server.connect()) {
        List<Integer> streams = new ArrayList<>();
        for (int f = 0; f < FRAMES; f++) {
          send(client, random, streams);
        }
        client.sync(); // a PING the server answers, or an AssertionError once it closed the connection
      } catch (AssertionError | IllegalStateException | java.io.UncheckedIOException e) {
        if (Boolean.getBoolean("vertx.fuzz.debug")) {
          System.out.println("[vertx fuzz] connection " + c + ": " + e.getMessage());
        }
        closed[c] = true; // the server closed the connection (a PING never answered, a write failed)
      }
      int connection = c;
      Await.until("nothing lingering after connection " + connection + " (seed " + seed + ")",
          () -> server.lingering() == 0, WAIT);
    }
    return closed;
  }

  /**
   * One frame the peer may legally send: on streams it has not ended or reset itself (they may be
   * lingering on the server, released by the guard, or still running), or on the connection.
   */
  private static void send(RawHttp2Client client, Random random, List<Integer> open) {
    Integer target = open.isEmpty() || random.nextInt(4) == 0 ? null : open.get(random.nextInt(open.size()));
    switch (random.nextInt(6)) {
      case 0:
      case 1: {
        boolean end = random.nextInt(5) == 0;
        int stream = client.startCall(BIDI, random.nextBoolean()
            ? Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED") : Map.of(), end);
        if (!end) {
          open.add(stream);
        }
        break;
      }
      case 2:
        if (target != null) {
          boolean end = random.nextBoolean();
          client.sendMessage(target, new byte[random.nextInt(64)], end);
          if (end) {
            open.remove(target);
          }
        }
        break;
      case 3:
        if (target != null) {
          client.sendHeaders(target, Map.of("x-trailer", "t"), true);
          open.remove(target);
        }
        break;
      case 4:
        if (target != null) {
          long[] codes = {RawHttp2Client.NO_ERROR, RawHttp2Client.CANCEL, RawHttp2Client.PROTOCOL_ERROR,
              RawHttp2Client.STREAM_CLOSED};
          client.sendRstStream(target, codes[random.nextInt(codes.length)]);
          open.remove(target);
        }
        break;
      default:
        // (No WINDOW_UPDATE: the raw client opens every window to 2^31-1 at once, so any increment
        // would be a flow-control error of the test's own making.)
        client.sendPing(random.nextLong());
    }
  }
}
