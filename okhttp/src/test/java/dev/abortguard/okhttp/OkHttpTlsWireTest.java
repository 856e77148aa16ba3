package dev.abortguard.okhttp;

import static dev.abortguard.okhttp.OkHttpTestServer.BIDI;
import static dev.abortguard.okhttp.OkHttpTestServer.WAIT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.Await;
import dev.abortguard.testing.EarlyCloseExpectations;
import dev.abortguard.testing.EarlyCloseExpectations.Peer;
import dev.abortguard.testing.EarlyCloseExpectations.PeerFrame;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.TestServers;
import dev.abortguard.testing.TestTls;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerCredentials;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The guarded grpc-okhttp server over TLS ({@code TlsServerCredentials}: the guard wraps the
 * {@code SSLSocket}'s plaintext side, {@link GuardedSslSocket}): the per-policy expectations every
 * adapter meets ({@link EarlyCloseExpectations#abortThenPeer}) for each policy and peer, a guarded
 * TLS connection is never reported as {@code transport_not_guarded}, and client certificates
 * optional or required: a raw client without one is served (optional) or refused at the handshake
 * leaving no guard state behind (required), and a grpc-java client presenting one is served with
 * the guard applied.
 */
class OkHttpTlsWireTest {
  static final Duration GRACE = Duration.ofMillis(300);
  static final Map<ResetPolicy, OkHttpTestServer> servers = new EnumMap<>(ResetPolicy.class);

  /** One TLS server per policy, started by the first test that needs it. */
  static OkHttpTestServer server(ResetPolicy policy) {
    return servers.computeIfAbsent(policy, p -> OkHttpTestServer.start(b -> b.reset(p).resetGrace(GRACE),
        TestServers.tlsCredentials(), b -> b));
  }

  @AfterAll
  static void stopServers() {
    servers.values().forEach(OkHttpTestServer::close);
  }

  /** Every policy and peer, as {@link OkHttpEarlyCloseWireTest} runs them in plaintext. */
  @ParameterizedTest(name = "TLS {0} peer {1}")
  @MethodSource("dev.abortguard.testing.EarlyCloseExpectations#policiesAndPeers")
  void abortThenPeerOverTls(ResetPolicy policy, Peer peer) {
    OkHttpTestServer server = server(policy);
    try (RawHttp2Client client = server.connect()) {
      EarlyCloseExpectations.abortThenPeer(server, client, BIDI, policy, peer, GRACE);
      OkHttpTestServer.unaryEcho(client);
    }
    assertEquals(0, server.misconfigured("transport_not_guarded"), "a guarded TLS connection is guarded");
  }

  /** Legal peer frames on a lingering stream over TLS: the guard drops DATA on the plaintext side. */
  @ParameterizedTest(name = "TLS {0} then {1}")
  @MethodSource("dev.abortguard.testing.EarlyCloseExpectations#policiesAndPeerFrames")
  void peerFramesOnALingeringStreamOverTls(ResetPolicy policy, PeerFrame frame) {
    OkHttpTestServer server = server(policy);
    try (RawHttp2Client client = server.connect()) {
      EarlyCloseExpectations.peerFrameOnLingeringStream(server, client, BIDI, policy, frame,
          OkHttpTestServer::unaryEcho);
    }
  }

  /** Client certificates optional: a client without one is served, the guard applies. */
  @Test
  void optionalClientCertificateWithoutOne() {
    try (OkHttpTestServer server = OkHttpTestServer.start(b -> b.reset(ResetPolicy.DEFERRED).resetGrace(GRACE),
            mutualTls(TlsServerCredentials.ClientAuth.OPTIONAL), b -> b);
        RawHttp2Client client = server.connect()) {
      EarlyCloseExpectations.abortThenPeer(server, client, BIDI, ResetPolicy.DEFERRED, Peer.KEEPS_SENDING, GRACE);
      OkHttpTestServer.unaryEcho(client);
      assertEquals(0, server.misconfigured("transport_not_guarded"));
    }
  }

  /**
   * Client certificates required: the raw client, which has none, is refused at the handshake and
   * leaves nothing in the guard (no lingering stream, no misconfiguration); a grpc-java client with
   * the test identity as its certificate gets the abort's status, and its RST_STREAM(CANCEL)
   * answering the trailers (it was still sending) releases the stream the guard kept open.
   */
  @Test
  void requiredClientCertificate() throws Exception {
    try (OkHttpTestServer server = OkHttpTestServer.start(
        b -> b.reset(ResetPolicy.DEFERRED).resetGrace(Duration.ofMinutes(1)),
        mutualTls(TlsServerCredentials.ClientAuth.REQUIRE), b -> b)) {
      RuntimeException refused = assertThrows(RuntimeException.class, () -> server.connect().close());
      System.out.println("[okhttp tls] a client without a certificate, client auth required: " + refused);
      assertEquals(0, server.lingering());
      assertEquals(0, server.misconfigured("transport_not_guarded"));

      ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", server.port(), clientIdentity()).build();
      try {
        Status status = abortedBidi(channel);
        assertEquals(Status.Code.PERMISSION_DENIED, status.getCode(), status.toString());
        assertEquals(TestServers.ABORT_DESCRIPTION, status.getDescription());
        assertArrayEquals("again".getBytes(StandardCharsets.UTF_8), ClientCalls.blockingUnaryCall(channel,
            TestServers.UNARY, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS),
            "again".getBytes(StandardCharsets.UTF_8)));
        assertEquals(1, server.abortsReaching(1, "method", "Bidi", "statusCode", "PERMISSION_DENIED"));
        assertEquals(1, server.released(ReleaseCause.PEER_RESET, 1), "the client's CANCEL ends the lingering stream");
        assertEquals(0, server.misconfigured("transport_not_guarded"), "the mTLS connection is guarded");
        Await.until("lingering = 0", () -> server.lingering() == 0, WAIT);
      } finally {
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /** A Bidi call with the abort header that the client never half-closes; its closing status. */
  static Status abortedBidi(ManagedChannel channel) throws Exception {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of(TestServers.ABORT_HEADER, Metadata.ASCII_STRING_MARSHALLER), "PERMISSION_DENIED");
    CompletableFuture<Status> closed = new CompletableFuture<>();
    ClientCall<byte[], byte[]> call = channel.newCall(TestServers.BIDI,
        CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS));
    call.start(new ClientCall.Listener<byte[]>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, headers);
    call.request(1);
    call.sendMessage("still sending".getBytes(StandardCharsets.UTF_8));
    return closed.get(5, TimeUnit.SECONDS);
  }

  static ServerCredentials mutualTls(TlsServerCredentials.ClientAuth clientAuth) {
    try (InputStream cert = TestTls.certificate();
        InputStream key = TestTls.privateKey();
        InputStream roots = TestTls.certificate()) {
      return TlsServerCredentials.newBuilder().keyManager(cert, key).trustManager(roots)
          .clientAuth(clientAuth).build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The test identity as a client certificate, trusting the test certificate. */
  static ChannelCredentials clientIdentity() {
    try (InputStream cert = TestTls.certificate();
        InputStream key = TestTls.privateKey();
        InputStream roots = TestTls.certificate()) {
      return TlsChannelCredentials.newBuilder().keyManager(cert, key).trustManager(roots).build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
