package dev.abortguard.okhttp;

import io.grpc.TlsServerCredentials;
import io.grpc.okhttp.internal.Platform;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS for a guarded grpc-okhttp server. grpc-okhttp builds its TLS socket factory from {@link
 * TlsServerCredentials} out of reach, so the guard builds the same factory here and hands
 * grpc-okhttp a wrapping one (as {@code SslSocketFactoryServerCredentials}) whose sockets are
 * {@link GuardedSslSocket}s.
 */
final class GuardedTls {
  /** What grpc-okhttp 1.82's {@code OkHttpServerBuilder} understands, and so all this supports. */
  private static final Set<TlsServerCredentials.Feature> UNDERSTOOD =
      EnumSet.of(TlsServerCredentials.Feature.MTLS, TlsServerCredentials.Feature.CUSTOM_MANAGERS);

  private static final Pattern PKCS8_PEM =
      Pattern.compile("-----BEGIN PRIVATE KEY-----(.*?)-----END PRIVATE KEY-----", Pattern.DOTALL);

  private GuardedTls() {}

  /**
   * The socket factory grpc-okhttp's {@code OkHttpServerBuilder.forPort(address, credentials)}
   * would use for {@code credentials}.
   *
   * @throws IllegalArgumentException for credentials grpc-okhttp would refuse too
   */
  static SSLSocketFactory socketFactory(TlsServerCredentials credentials) {
    Set<TlsServerCredentials.Feature> incomprehensible = credentials.incomprehensible(UNDERSTOOD);
    if (!incomprehensible.isEmpty()) {
      throw new IllegalArgumentException("TlsServerCredentials features not supported by grpc-okhttp: "
          + incomprehensible + "; pass credentials that use only " + UNDERSTOOD);
    }
    KeyManager[] keyManagers = null;
    if (credentials.getKeyManagers() != null) {
      keyManagers = credentials.getKeyManagers().toArray(new KeyManager[0]);
    } else if (credentials.getPrivateKey() != null) {
      if (credentials.getPrivateKeyPassword() != null) {
        throw new IllegalArgumentException("A password-protected private key is not supported by "
            + "grpc-okhttp; pass an unencrypted PKCS#8 key (openssl pkcs8 -topk8 -nocrypt), or "
            + "KeyManagers via TlsServerCredentials.newBuilder().keyManager(KeyManager...)");
      }
      try {
        keyManagers = keyManagers(credentials.getCertificateChain(), credentials.getPrivateKey());
      } catch (GeneralSecurityException e) {
        throw new IllegalArgumentException("Unable to load private key: " + e.getMessage(), e);
      }
    } // else no server certificate: the handshake will fail, as it does in grpc-okhttp
    TrustManager[] trustManagers = null;
    if (credentials.getTrustManagers() != null) {
      trustManagers = credentials.getTrustManagers().toArray(new TrustManager[0]);
    } else if (credentials.getRootCertificates() != null) {
      try {
        trustManagers = trustManagers(credentials.getRootCertificates());
      } catch (GeneralSecurityException e) {
        throw new IllegalArgumentException("Unable to load root certificates: " + e.getMessage(), e);
      }
    } // else the JDK's default trust
    SSLSocketFactory factory;
    try {
      // grpc-okhttp's provider, so that the sockets suit the ALPN negotiation it picked for it.
      SSLContext context = SSLContext.getInstance("TLS", Platform.get().getProvider());
      context.init(keyManagers, trustManagers, null);
      factory = context.getSocketFactory();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("TLS provider failure", e);
    }
    switch (credentials.getClientAuth()) {
      case NONE:
        return factory;
      case OPTIONAL:
        return new ServerSideFactory(factory, socket -> {
          socket.setWantClientAuth(true);
          return socket;
        });
      case REQUIRE:
        return new ServerSideFactory(factory, socket -> {
          socket.setNeedClientAuth(true);
          return socket;
        });
      default:
        throw new IllegalArgumentException("TlsServerCredentials.ClientAuth " + credentials.getClientAuth()
            + " is not supported; pass NONE, OPTIONAL or REQUIRE");
    }
  }

  /**
   * {@code tls}, whose sockets are {@link GuardedSslSocket}s that get their {@link SocketStreams}
   * from {@code newConnection} (given the guarded socket) when grpc-okhttp first uses them.
   */
  static SSLSocketFactory guarded(SSLSocketFactory tls, Function<Socket, SocketStreams> newConnection) {
    return new ServerSideFactory(tls, socket -> new GuardedSslSocket(socket, newConnection));
  }

  private static KeyManager[] keyManagers(byte[] certificateChain, byte[] privateKey)
      throws GeneralSecurityException {
    X509Certificate[] chain = certificates(certificateChain);
    PrivateKey key = privateKey(privateKey);
    KeyStore store = emptyKeyStore();
    store.setKeyEntry("key", key, new char[0], chain);
    KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    factory.init(store, new char[0]);
    return factory.getKeyManagers();
  }

  private static TrustManager[] trustManagers(byte[] rootCertificates) throws GeneralSecurityException {
    KeyStore store = emptyKeyStore();
    X509Certificate[] roots = certificates(rootCertificates);
    for (int i = 0; i < roots.length; i++) {
      // By index rather than subject, so that two roots with one subject are both trusted.
      store.setCertificateEntry("root-" + i, roots[i]);
    }
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(store);
    return factory.getTrustManagers();
  }

  private static X509Certificate[] certificates(byte[] pem) throws GeneralSecurityException {
    try (InputStream in = new ByteArrayInputStream(pem)) {
      return CertificateFactory.getInstance("X.509").generateCertificates(in).toArray(new X509Certificate[0]);
    } catch (IOException e) {
      throw new GeneralSecurityException(e);
    }
  }

  /** An unencrypted PKCS#8 RSA or EC key, the forms grpc-okhttp reads. */
  private static PrivateKey privateKey(byte[] pem) throws GeneralSecurityException {
    Matcher block = PKCS8_PEM.matcher(new String(pem, StandardCharsets.UTF_8));
    if (!block.find()) {
      throw new GeneralSecurityException("no \"-----BEGIN PRIVATE KEY-----\" block: grpc-okhttp reads "
          + "only unencrypted PKCS#8 keys (convert with openssl pkcs8 -topk8 -nocrypt)");
    }
    PKCS8EncodedKeySpec spec;
    try {
      spec = new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(block.group(1)));
    } catch (IllegalArgumentException e) {
      throw new GeneralSecurityException("the PKCS#8 key is not valid base64", e);
    }
    try {
      return KeyFactory.getInstance("RSA").generatePrivate(spec);
    } catch (InvalidKeySpecException notRsa) {
      return KeyFactory.getInstance("EC").generatePrivate(spec);
    }
  }

  private static KeyStore emptyKeyStore() throws GeneralSecurityException {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    try {
      store.load(null, null);
    } catch (IOException e) {
      throw new GeneralSecurityException(e);
    }
    return store;
  }

  /**
   * A server's TLS socket factory: layers TLS over accepted sockets and shapes each TLS socket with
   * {@code onSocket}. It never dials, so the dialing overloads refuse.
   */
  private static final class ServerSideFactory extends SSLSocketFactory {
    private final SSLSocketFactory tls;
    private final UnaryOperator<SSLSocket> onSocket;

    ServerSideFactory(SSLSocketFactory tls, UnaryOperator<SSLSocket> onSocket) {
      this.tls = tls;
      this.onSocket = onSocket;
    }

    @Override
    public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
      return shaped(tls.createSocket(s, host, port, autoClose));
    }

    @Override
    public Socket createSocket(Socket s, InputStream consumed, boolean autoClose) throws IOException {
      return shaped(tls.createSocket(s, consumed, autoClose));
    }

    private Socket shaped(Socket socket) throws IOException {
      if (!(socket instanceof SSLSocket)) {
        socket.close();
        throw new IOException("SocketFactory " + tls + " did not produce an SSLSocket: " + socket.getClass());
      }
      return onSocket.apply((SSLSocket) socket);
    }

    @Override
    public Socket createSocket() {
      throw dialing();
    }

    @Override
    public Socket createSocket(String host, int port) {
      throw dialing();
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) {
      throw dialing();
    }

    @Override
    public Socket createSocket(InetAddress host, int port) {
      throw dialing();
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) {
      throw dialing();
    }

    private static UnsupportedOperationException dialing() {
      return new UnsupportedOperationException("abortguard's TLS socket factory only layers TLS over "
          + "sockets a server accepted (createSocket(Socket, String, int, boolean)); it never dials");
    }

    @Override
    public String[] getDefaultCipherSuites() {
      return tls.getDefaultCipherSuites();
    }

    @Override
    public String[] getSupportedCipherSuites() {
      return tls.getSupportedCipherSuites();
    }
  }
}
