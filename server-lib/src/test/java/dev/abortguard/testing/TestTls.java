package dev.abortguard.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The test TLS identity: a self-signed RSA certificate for {@code localhost} and {@code 127.0.0.1}
 * (valid until 2126) with its unencrypted PKCS#8 key, on the test classpath under {@code /tls/}.
 *
 * <pre>{@code
 * try (InputStream cert = TestTls.certificate(); InputStream key = TestTls.privateKey()) {
 *   builder.sslContext(GrpcSslContexts.forServer(cert, key).build());
 * }
 * }</pre>
 *
 * <p>Regenerate with {@code openssl req -x509 -newkey rsa:2048 -nodes -keyout server.key -out
 * server.pem -days 36500 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1}.
 */
public final class TestTls {
  private static final String CERTIFICATE = "/tls/server.pem";
  private static final String PRIVATE_KEY = "/tls/server.key";

  private TestTls() {}

  /** A fresh stream of the PEM certificate; the caller closes it. */
  public static InputStream certificate() {
    return open(CERTIFICATE);
  }

  /** A fresh stream of the PEM (PKCS#8, unencrypted) private key; the caller closes it. */
  public static InputStream privateKey() {
    return open(PRIVATE_KEY);
  }

  /** A client {@link SSLContext} that trusts exactly the test certificate. */
  public static SSLContext clientContext() {
    return ClientContextHolder.CONTEXT;
  }

  private static InputStream open(String resource) {
    InputStream in = TestTls.class.getResourceAsStream(resource);
    if (in == null) {
      throw new IllegalStateException("test resource " + resource + " is not on the classpath");
    }
    return in;
  }

  /** Builds the client context once, on first use. */
  private static final class ClientContextHolder {
    static final SSLContext CONTEXT = build();

    private static SSLContext build() {
      try (InputStream in = certificate()) {
        Certificate cert = CertificateFactory.getInstance("X.509").generateCertificate(in);
        KeyStore trustStore = KeyStore.getInstance(KeyStore.getDefaultType());
        trustStore.load(null, null);
        trustStore.setCertificateEntry("abortguard-test", cert);
        TrustManagerFactory trust =
            TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trustStore);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return context;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("cannot build the test TLS client context", e);
      }
    }
  }
}
