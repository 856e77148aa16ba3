package dev.abortguard.vertx;

import static dev.abortguard.testing.EarlyCloseExpectations.assertTrailersOnly;
import static dev.abortguard.testing.EarlyCloseExpectations.rstOn;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.EarlyCloseExpectations;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The call layer's meters on a guarded Vert.x server, with grpc-netty's names and tags: each abort
 * counted once in {@code grpc.server.aborts} (service, method, methodType, statusCode, peer,
 * response), a withheld reset in {@code grpc.server.aborts.mitigated}; OK calls count nothing. And
 * the policy over TLS with ALPN.
 */
@ExtendWith(LeakDetectionExtension.class)
class VertxCallMetricsAndTlsTest {
  static final Duration WAIT = Duration.ofSeconds(5);
  static final Duration GRACE = Duration.ofMillis(300);
  static final String BIDI = TestServers.path(TestServers.BIDI);

  @ParameterizedTest
  @EnumSource(ResetPolicy.class)
  void eachAbortIsCountedOnceWithGrpcNettysTags(ResetPolicy policy) {
    try (VertxTestServer server = VertxTestServer.start(b -> b.reset(policy).resetGrace(GRACE));
        RawHttp2Client client = server.connect()) {
      int streaming = client.startCall(BIDI, Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"), false);
      assertTrailersOnly(client, streaming, client.awaitFrame(streaming, HEADERS, WAIT));
      int halfClosed = client.startCall(BIDI, Map.of(TestServers.ABORT_HEADER, "RESOURCE_EXHAUSTED"), true);
      client.awaitFrame(halfClosed, HEADERS, WAIT);
      EarlyCloseExpectations.servesAnEcho(client, BIDI);
      String[] common = {"service", TestServers.SERVICE, "method", "Bidi", "methodType", "UNKNOWN",
          "response", "trailers_only"};
      assertEquals(1, server.abortsReaching(1, with(common, "statusCode", "PERMISSION_DENIED", "peer", "streaming")),
          server.registry.getMetersAsString());
      assertEquals(1, server.abortsReaching(1, with(common, "statusCode", "RESOURCE_EXHAUSTED", "peer",
          "half_closed")), server.registry.getMetersAsString());
      assertEquals(2, server.aborts(), "OK calls are no aborts\n" + server.registry.getMetersAsString());
      double withheld = policy == ResetPolicy.DEFERRED ? 1 : 0; // only deferred withholds a reset
      assertEquals(withheld, server.mitigatedReaching(withheld, "mitigation", "reset_withheld", "statusCode",
          "PERMISSION_DENIED", "method", "Bidi"), server.registry.getMetersAsString());
      assertEquals(withheld, server.mitigated(), server.registry.getMetersAsString());
      client.sendData(streaming, new byte[0], true);
    }
  }

  private static String[] with(String[] common, String... more) {
    String[] all = java.util.Arrays.copyOf(common, common.length + more.length);
    System.arraycopy(more, 0, all, common.length, more.length);
    return all;
  }

  /** Over TLS (ALPN h2): deferred holds the reset back for the grace, then one RST_STREAM(NO_ERROR). */
  @Test
  void deferredOverTlsWithAlpn() {
    try (VertxTestServer server = VertxTestServer.startTls(b -> b.reset(ResetPolicy.DEFERRED).resetGrace(GRACE));
        RawHttp2Client client = server.connect()) {
      int stream = client.startCall(BIDI, Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"), false);
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      assertTrailersOnly(client, stream, trailers);
      EarlyCloseExpectations.expectPolicyReset(ResetPolicy.DEFERRED, client, stream, trailers, GRACE);
      assertEquals(1, server.released(ReleaseCause.GRACE_EXPIRED, 1), client.describeFrames());
      EarlyCloseExpectations.servesAnEcho(client, BIDI);
    }
  }

  /** Over TLS, immediate: the reset leaves in the trailers' flush (below TLS, one record batch). */
  @Test
  void immediateOverTlsWithAlpn() {
    try (VertxTestServer server = VertxTestServer.startTls(b -> b.reset(ResetPolicy.IMMEDIATE));
        RawHttp2Client client = server.connect()) {
      int stream = client.startCall(BIDI, Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"), false);
      Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
      EarlyCloseExpectations.expectImmediateReset(client, stream, trailers);
      assertEquals(NO_ERROR, client.awaitFrame(rstOn(stream), WAIT).errorCode());
      assertEquals(1, server.released(ReleaseCause.IMMEDIATE, 1), client.describeFrames());
    }
  }
}
