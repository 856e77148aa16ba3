package dev.abortguard.sample.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.sample.Options.Transport;
import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.ProxiedServer.Route;
import java.util.Map;

/**
 * The sample server's {@code vertx} transport (a Vert.x {@code GrpcServer}, the guard installed with
 * {@code AbortGuardVertx.install}) end to end, as {@link TransportMatrix} runs every transport:
 * {@value PolicyMatrix#CALLS} aborted grpcio Bidi calls per cell, direct and through HAProxy 2.6,
 * stock Vert.x against the guarded server ({@code deferred}).
 *
 * <p>Stock Vert.x sends no reset after its trailers, so the status survives, direct and through
 * HAProxy: the guard's claim here is the same zero CANCELLED, plus every early-closed stream
 * released once its peer closes it (stock Vert.x tracks nothing).
 */
class VertxProxyIT extends TransportMatrix {
  @Override
  Transport transport() {
    return Transport.VERTX;
  }

  /** A warm JVM, as in service. */
  @Override
  int warmUpRuns() {
    return 2;
  }

  /** Stock Vert.x: no reset after the trailers, so every call ends with its real status, direct and proxied. */
  @Override
  void assertStock(Behaviour behaviour, Route route, Result result) {
    assertEquals(Map.of(PolicyMatrix.REAL_STATUS, CALLS), result.messages(),
        "stock Vert.x sends no reset after its trailers: " + result);
  }

}
