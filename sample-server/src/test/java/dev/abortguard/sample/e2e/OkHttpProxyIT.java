package dev.abortguard.sample.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.sample.Options.Transport;
import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.ProxiedServer.Route;
import java.util.Map;

/**
 * The sample server's {@code okhttp} transport (grpc-java's OkHttp server, its builder from {@code
 * AbortGuardOkHttp.forAddress}: the guard on each connection's socket, its call layer on the
 * builder) end to end, as {@link TransportMatrix} runs every transport: {@value PolicyMatrix#CALLS}
 * aborted grpcio Bidi calls per cell, direct and through HAProxy 2.6, stock grpc-okhttp against the
 * guarded server ({@code deferred}).
 *
 * <p>Stock grpc-okhttp follows early trailers with RST_STREAM(NO_ERROR) in the same write, as
 * {@code immediate} does: a C-core client reading it directly keeps the real status, but HAProxy
 * 2.6 forwards the trailers and the reset as RST_STREAM(CANCEL), and grpcio reports CANCELLED. The
 * guarded server withholds that reset: no call ends CANCELLED, and every early-closed stream is
 * released once the client (or HAProxy) closes it, including when the client's DATA crosses the
 * trailers (grpc-okhttp forgets the stream before the trailers reach the socket; the guard withholds
 * grpc-okhttp's RST_STREAM(STREAM_CLOSED) answers to that DATA and returns its window).
 */
class OkHttpProxyIT extends TransportMatrix {
  @Override
  Transport transport() {
    return Transport.OKHTTP;
  }

  /** A warm JVM, as in service. */
  @Override
  int warmUpRuns() {
    return 2;
  }

  /**
   * Stock grpc-okhttp: direct, every call ends with its real status (its reset is in the trailers'
   * write, so grpcio has the status when it reads it); through HAProxy, the real status or the
   * CANCEL, nothing else, and at least half CANCELLED (a loose bound: measured 200 of 200 in every
   * HAProxy cell, direct 0, in every run).
   */
  @Override
  void assertStock(Behaviour behaviour, Route route, Result result) {
    if (route == Route.DIRECT) {
      assertEquals(Map.of(PolicyMatrix.REAL_STATUS, CALLS), result.messages(),
          "stock grpc-okhttp's reset is in the trailers' write: direct, grpcio keeps the status: " + result);
      return;
    }
    for (String message : result.messages().keySet()) {
      assertTrue(message.equals(PolicyMatrix.REAL_STATUS) || message.equals(CANCELLED),
          "only the real status or HAProxy's CANCEL expected: " + result);
    }
    assertTrue(result.count("CANCELLED") >= CALLS / 2,
        "through HAProxy 2.6 stock grpc-okhttp should end most calls CANCELLED: " + result);
  }
}
