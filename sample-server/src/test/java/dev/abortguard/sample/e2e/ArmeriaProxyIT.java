package dev.abortguard.sample.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.sample.Options.Transport;
import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.ProxiedServer.Route;

/**
 * The sample server's {@code armeria} transport (an Armeria server's {@code GrpcService}, the guard
 * installed with {@code AbortGuardArmeria.install}) end to end, as {@link TransportMatrix} runs
 * every transport: {@value PolicyMatrix#CALLS} aborted grpcio Bidi calls per cell, direct and
 * through HAProxy 2.6, stock Armeria against the guarded server ({@code deferred}).
 *
 * <p>Stock Armeria resets each stream with RST_STREAM(CANCEL) once request and response are both
 * complete, within a millisecond or so of the trailers, and a C-core client that reads it before it
 * has finalised the trailers reports CANCELLED, direct as well as through HAProxy. The guarded
 * server withholds that reset: no call ends CANCELLED, and every early-closed stream is released
 * once the client (or HAProxy) closes it.
 */
class ArmeriaProxyIT extends TransportMatrix {
  @Override
  Transport transport() {
    return Transport.ARMERIA;
  }

  /** A warm JVM, as in service. */
  @Override
  int warmUpRuns() {
    return 2;
  }

  /**
   * Stock Armeria, with its RST_STREAM(CANCEL) after every trailers: the real status or that
   * CANCELLED, nothing else. Measured over seven runs (28 cells of 200 calls, warm server): 51-142
   * CANCELLED per cell, direct 68-141, through HAProxy 51-142; a cold server gave 29-51 direct. So
   * in every cell, direct included, at least a tenth must be CANCELLED (a loose bound: the share
   * depends on how soon after the trailers the reset goes out and on when grpcio reads it); the
   * guarded server's zero is the claim.
   */
  @Override
  void assertStock(Behaviour behaviour, Route route, Result result) {
    for (String message : result.messages().keySet()) {
      assertTrue(message.equals(PolicyMatrix.REAL_STATUS) || message.equals(CANCELLED),
          "only the real status or the CANCEL expected: " + result);
    }
    int cancelled = result.count("CANCELLED");
    assertTrue(cancelled >= CALLS / 10,
        "stock Armeria should end many calls CANCELLED, even " + route + ": " + result);
  }
}
