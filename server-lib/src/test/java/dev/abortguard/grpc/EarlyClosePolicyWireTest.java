package dev.abortguard.grpc;

import dev.abortguard.testing.EarlyCloseExpectations;
import dev.abortguard.testing.EarlyCloseExpectations.Peer;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.TestServers;
import io.grpc.MethodDescriptor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each reset policy × call shape × peer behaviour, on the wire: the frames a raw HTTP/2 client
 * receives after the server aborts a call at once, when they arrive, and what the metrics say.
 */
class EarlyClosePolicyWireTest {
  static final Duration GRACE = Duration.ofMillis(400);
  static final Duration WAIT = Duration.ofSeconds(5);
  static final List<MethodDescriptor<byte[], byte[]>> SHAPES =
      List.of(TestServers.UNARY, TestServers.CLIENT_STREAM, TestServers.BIDI);

  static final Map<ResetPolicy, GuardedTestServer> servers = new java.util.EnumMap<>(ResetPolicy.class);

  @BeforeAll
  static void startServers() {
    for (ResetPolicy policy : ResetPolicy.values()) {
      servers.put(policy, GuardedTestServer.start(b -> b.reset(policy).resetGrace(GRACE)));
    }
  }

  @AfterAll
  static void stopServers() {
    servers.values().forEach(GuardedTestServer::close);
  }

  static Stream<Arguments> matrix() {
    List<Arguments> cases = new ArrayList<>();
    for (ResetPolicy policy : ResetPolicy.values()) {
      for (MethodDescriptor<byte[], byte[]> shape : SHAPES) {
        for (Peer peer : Peer.values()) {
          cases.add(Arguments.of(policy, shape.getBareMethodName(), peer));
        }
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1} peer {2}")
  @MethodSource("matrix")
  void abortThenPeer(ResetPolicy policy, String shape, Peer peer) {
    try (RawHttp2Client client = servers.get(policy).connect()) {
      EarlyCloseExpectations.abortThenPeer(
          servers.get(policy), client, "/" + TestServers.SERVICE + "/" + shape, policy, peer, GRACE);
    }
  }
}
