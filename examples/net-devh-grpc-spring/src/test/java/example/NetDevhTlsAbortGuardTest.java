package example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The same check with net.devh's own TLS settings (grpc.server.security.*): the guarded factory turns
 * them into NettySslContextServerCredentials instead of calling builder.sslContext(...).
 */
@SpringBootTest(classes = DenyingApp.class)
class NetDevhTlsAbortGuardTest {
  static final char[] PASSWORD = "changeit".toCharArray();
  static Path keyStore;

  @DynamicPropertySource
  static void tls(DynamicPropertyRegistry properties) throws Exception {
    keyStore = Files.createTempDirectory("abortguard-tls").resolve("server.p12");
    Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
        "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1", "-storetype", "PKCS12",
        "-keystore", keyStore.toString(), "-storepass", new String(PASSWORD))
        .inheritIO().start();
    assertEquals(0, keytool.waitFor(), "keytool made a self-signed key store");
    properties.add("grpc.server.security.enabled", () -> "true");
    properties.add("grpc.server.security.key-store", () -> "file:" + keyStore);
    properties.add("grpc.server.security.key-store-format", () -> "PKCS12");
    properties.add("grpc.server.security.key-store-password", () -> new String(PASSWORD));
  }

  @Autowired DenyingApp app;
  @Autowired MeterRegistry registry;

  @Test
  void abortedCallOverTlsIsTrailersOnlyThenNoErrorReset() throws Exception {
    assertTrue(app.port > 0, "net.devh started its TLS server");
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(keyStore)) {
      store.load(in, PASSWORD);
    }
    X509Certificate serverCert = (X509Certificate) store.getCertificate("server");
    TrustManager trustOnlyIt = new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType)
          throws java.security.cert.CertificateException {
        if (!chain[0].equals(serverCert)) {
          throw new java.security.cert.CertificateException("not the test server's certificate");
        }
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[] {serverCert};
      }
    };
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, new TrustManager[] {trustOnlyIt}, null);
    SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", app.port);
    SSLParameters parameters = socket.getSSLParameters();
    parameters.setApplicationProtocols(new String[] {"h2"});
    socket.setSSLParameters(parameters);
    socket.startHandshake();
    assertEquals("h2", socket.getApplicationProtocol());
    NetDevhAbortGuardTest.checkAbortedCall(socket, registry);
  }
}
