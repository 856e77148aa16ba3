package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import org.junit.jupiter.api.Test;

/**
 * TLS through Boot's {@code spring.grpc.server.ssl.bundle}: the guard wraps the TLS credentials Boot
 * computes, so the TLS server's connections carry the policy (here {@code immediate}).
 */
class TlsTest {
  @Test
  void tlsServerFromAnSslBundleIsGuarded() {
    try (BootApp app = BootApp.start(
            "--spring.ssl.bundle.pem.abortguard-test.keystore.certificate=classpath:tls/server.pem",
            "--spring.ssl.bundle.pem.abortguard-test.keystore.private-key=classpath:tls/server.key",
            "--spring.grpc.server.ssl.bundle=abortguard-test",
            "--abortguard.reset=immediate");
        RawHttp2Client client = RawHttp2Client.connectTls("127.0.0.1", app.grpcPort())) {
      assertInstanceOf(GuardedNettyGrpcServerFactory.class, app.grpcServerFactory());
      Frame trailers = Wire.abortedBidi(client);
      Frame reset = client.awaitFrame(f -> Wire.isReset(f, trailers.streamId()), Wire.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
    }
  }
}
