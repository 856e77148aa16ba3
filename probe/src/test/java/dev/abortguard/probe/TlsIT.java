package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** {@code serve} with a self-signed certificate and {@code check --tls}: the verdict, and the TLS mistakes. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsIT {
  private static final Duration BOUND = Duration.ofSeconds(15);

  private Path dir;
  private ServeProcess tlsServer;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    this.dir = dir;
    SelfSignedPem pem = SelfSignedPem.create(dir.resolve("tls"));
    tlsServer = ServeProcess.start(dir, "--behaviour", "ccore",
        "--tls-cert", pem.certificate.toString(), "--tls-key", pem.privateKey.toString());
    assertTrue(tlsServer.stdout().contains("(TLS, h2 by ALPN)"), tlsServer.stdout());
  }

  @AfterAll
  void stop() {
    if (tlsServer != null) {
      tlsServer.close();
      assertFalse(tlsServer.stderr().contains("LEAK:"), tlsServer.stderr());
    }
  }

  @Test
  void insecureTlsCheckSeesTheFrames() throws Exception {
    CheckRun run = CheckRun.check(dir, tlsServer.target(), "--tls", "--insecure", "--calls", "3", "--json")
        .assertExit(0);
    assertEquals(true, run.json().get("tls"), run::toString);
    for (Map<String, Object> call : run.calls()) {
      assertEquals(7L, call.get("grpc_status"), run::toString);
      assertEquals(0L, call.get("rst_code"), run::toString);
      assertEquals(Boolean.TRUE, call.get("rst_same_read"), run::toString);
    }
  }

  @Test
  void untrustedCertificateSaysAddInsecure() throws Exception {
    CheckRun run = CheckRun.check(dir, tlsServer.target(), "--tls", "--calls", "1").assertExit(2);
    assertTrue(run.stderr.contains("is not trusted") && run.stderr.contains("--insecure"), run::toString);
    assertTrue(run.elapsed.compareTo(BOUND) < 0, run::toString);
  }

  @Test
  void cleartextCheckOfTlsPortSaysAddTls() throws Exception {
    CheckRun run = CheckRun.check(dir, tlsServer.target(), "--calls", "1").assertExit(2);
    assertTrue(run.stderr.contains("add --tls"), run::toString);
    assertTrue(run.elapsed.compareTo(BOUND) < 0, run::toString);
  }

  @Test
  void tlsCheckOfCleartextPortSaysDropTls() throws Exception {
    try (ServeProcess cleartext = ServeProcess.start(dir, "--behaviour", "grpc-java")) {
      CheckRun run = CheckRun.check(dir, cleartext.target(), "--tls", "--insecure", "--calls", "1").assertExit(2);
      assertTrue(run.stderr.contains("drop --tls"), run::toString);
      assertTrue(run.elapsed.compareTo(BOUND) < 0, run::toString);
    }
  }
}
