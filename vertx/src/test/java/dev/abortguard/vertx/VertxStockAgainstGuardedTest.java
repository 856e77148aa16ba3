package dev.abortguard.vertx;

import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.Await;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.TestServers;
import java.time.Duration;
import java.util.Map;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;

/**
 * The docs' measured table, stock Vert.x against guarded ({@code deferred}, grace 300 ms): {@value
 * #CALLS} aborted Bidi calls on one connection whose client keeps sending after the trailers and
 * never ends them. The server's own count of open streams on the connection (Netty's, read through
 * the connection Vert.x hands its connection handler) is what the peer holds against
 * MAX_CONCURRENT_STREAMS.
 */
class VertxStockAgainstGuardedTest {
  static final int CALLS = 50;
  static final Duration GRACE = Duration.ofMillis(300);
  static final Duration WAIT = Duration.ofSeconds(5);

  @Test
  void stockKeepsEveryAbortedStreamOpenTheGuardReleasesThem() {
    int stock = openStreamsAfter(null);
    int guarded = openStreamsAfter(ResetPolicy.DEFERRED);
    System.out.printf("[vertx measured] %d aborted bidi calls, client keeps sending, %d ms after the last: open streams"
        + " stock %d, deferred %d%n", CALLS, GRACE.toMillis() * 3, stock, guarded);
    assertEquals(CALLS, stock, "stock Vert.x keeps every aborted stream open");
    assertEquals(0, guarded, "the guard released every one after the grace");
  }

  /**
   * DATA the client keeps sending on aborted streams: 256 KiB over 4 such streams, four times
   * Vert.x's 64 KiB connection window, then a unary call. Whether each side gives the window back
   * (the client's sends wait for WINDOW_UPDATE, 5 s at most) is printed, and the guarded server must.
   */
  @Test
  void dataOnAbortedStreamsComesBackAsConnectionWindow() {
    String stock = windowOutcome(null);
    String guarded = windowOutcome(ResetPolicy.NEVER);
    System.out.printf("[vertx measured] 256 KiB of DATA on 4 aborted streams left open: stock %s; guarded (never) %s%n",
        stock, guarded);
    assertEquals("window returned, next call served", guarded);
  }

  private static String windowOutcome(ResetPolicy policy) {
    try (VertxTestServer server = policy == null
            ? VertxTestServer.start(null, o -> { })
            : VertxTestServer.start(b -> b.reset(policy));
        RawHttp2Client client = server.connect()) {
      int[] streams = new int[4];
      for (int i = 0; i < streams.length; i++) {
        streams[i] = client.startCall(TestServers.path(TestServers.BIDI),
            Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"), false);
        client.awaitFrame(streams[i], HEADERS, WAIT);
      }
      try {
        for (int round = 0; round < 16; round++) {
          client.sendData(streams[round % streams.length], new byte[16 * 1024], false);
        }
      } catch (IllegalStateException e) {
        return "window not returned (the client's DATA waited 5 s for WINDOW_UPDATE)";
      }
      VertxBoundsAndCausesWireTest.unaryEcho(client);
      return "window returned, next call served";
    }
  }

  /** Open streams on the connection {@code 3 x GRACE} after the calls; {@code policy} null: stock. */
  private static int openStreamsAfter(ResetPolicy policy) {
    try (VertxTestServer server = policy == null
            ? VertxTestServer.start(null, o -> { })
            : VertxTestServer.start(b -> b.reset(policy).resetGrace(GRACE));
        RawHttp2Client client = server.connect()) {
      for (int i = 0; i < CALLS; i++) {
        int stream = client.startCall(TestServers.path(TestServers.BIDI),
            Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"), false);
        client.awaitFrame(stream, HEADERS, WAIT);
        client.sendMessage(stream, ("still sending " + i).getBytes(), false);
      }
      client.sync();
      IntSupplier open = server::activeStreams;
      long deadline = System.nanoTime() + GRACE.multipliedBy(3).toNanos();
      Await.until("the grace to pass three times", () -> System.nanoTime() - deadline >= 0, WAIT);
      int count = open.getAsInt();
      assertTrue(count >= 0, "a connection was seen");
      return count;
    }
  }

}
