package dev.abortguard.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import org.junit.jupiter.api.Test;

/**
 * TLS through Micronaut's own {@code grpc.server.ssl.cert-chain} and {@code private-key}: the server
 * still speaks TLS with ALPN h2 (the raw client requires both), and its connections carry the guard's
 * policy (here {@code immediate}, which stock grpc-java never does).
 */
class TlsTest {
  static final String[] TLS = {
    "grpc.server.ssl.cert-chain", "classpath:tls/server.pem",
    "grpc.server.ssl.private-key", "classpath:tls/server.key",
  };

  @Test
  void micronautsTlsServerIsGuardedAndNegotiatesH2() {
    try (MicronautApp app = MicronautApp.start(concat(TLS, "abortguard.reset", "immediate"));
        RawHttp2Client client = RawHttp2Client.connectTls("127.0.0.1", app.grpcPort())) {
      assertEquals("https", app.server.getScheme(), "Micronaut should see its own SSL settings applied");
      Frame trailers = Wire.abortedBidi(client);
      Frame reset = client.awaitFrame(f -> Wire.isReset(f, trailers.streamId()), Wire.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
      assertEquals(trailers.readBatch(), reset.readBatch(), client.describeFrames());
      assertEquals(1, app.released(ReleaseCause.IMMEDIATE, 1));
    }
  }

  @Test
  void plaintextIsRefusedOnTheTlsPort() {
    try (MicronautApp app = MicronautApp.start(TLS)) {
      // The guard did not turn Micronaut's TLS server into a plaintext one.
      assertThrows(RuntimeException.class, () -> {
        try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
          Wire.abortedBidi(client);
        }
      });
    }
  }

  static String[] concat(String[] a, String... b) {
    String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }
}
