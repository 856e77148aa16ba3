package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.sample.e2e.E2eTools;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeUnit;

/**
 * A fresh self-signed certificate for {@code localhost} and {@code 127.0.0.1}, made with the JDK's
 * keytool and written as the PEM files {@code serve --tls-cert/--tls-key} read.
 */
final class SelfSignedPem {
  private static final char[] PASSWORD = "probe-test".toCharArray();

  final Path certificate;
  final Path privateKey;

  private SelfSignedPem(Path certificate, Path privateKey) {
    this.certificate = certificate;
    this.privateKey = privateKey;
  }

  static SelfSignedPem create(Path dir) throws Exception {
    Files.createDirectories(dir);
    Path keystore = dir.resolve("probe-test.p12");
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    Process process = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "probe", "-keyalg", "EC",
        "-groupname", "secp256r1", "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1",
        "-validity", "2", "-keystore", keystore.toString(), "-storetype", "PKCS12",
        "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD))
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("keytool.log").toFile())
        .start();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      E2eTools.stop(process, Duration.ofSeconds(5));
    }
    assertEquals(0, process.exitValue(), () -> "keytool failed:\n" + E2eTools.readQuietly(dir.resolve("keytool.log")));

    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keystore)) {
      store.load(in, PASSWORD);
    }
    Key key = store.getKey("probe", PASSWORD);
    Certificate cert = store.getCertificate("probe");
    Path certificate = dir.resolve("probe-test.crt");
    Path privateKey = dir.resolve("probe-test.key");
    Files.writeString(certificate, pem("CERTIFICATE", cert.getEncoded()), StandardCharsets.US_ASCII);
    // getEncoded() of a private key is PKCS#8, what Netty reads from "PRIVATE KEY" blocks.
    Files.writeString(privateKey, pem("PRIVATE KEY", key.getEncoded()), StandardCharsets.US_ASCII);
    return new SelfSignedPem(certificate, privateKey);
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }
}
