package dev.abortguard.okhttp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.TestTls;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class GuardedSslSocketTest {

  @Test
  void forwardsEverySocketMethod() {
    // A method left to the inherited Socket would act on its unconnected socket, silently.
    List<String> inherited = new ArrayList<>();
    for (Class<?> type : List.of(SSLSocket.class, Socket.class)) {
      for (Method method : type.getDeclaredMethods()) {
        int modifiers = method.getModifiers();
        if (!Modifier.isPublic(modifiers) || Modifier.isStatic(modifiers) || Modifier.isFinal(modifiers)) {
          continue;
        }
        try {
          Method resolved = GuardedSslSocket.class.getMethod(method.getName(), method.getParameterTypes());
          if (resolved.getDeclaringClass() != GuardedSslSocket.class
              && resolved.getDeclaringClass() != ForwardingSslSocket.class
              && resolved.getDeclaringClass() != ForwardingSocketMethods.class) {
            inherited.add(method.toString());
          }
        } catch (NoSuchMethodException e) {
          throw new AssertionError(e);
        }
      }
    }
    assertEquals(List.of(), inherited, "methods GuardedSslSocket does not forward");
  }

  @Test
  void buildsFactoryFromPemCredentials() throws IOException {
    assertNotNull(GuardedTls.socketFactory(pemCredentials()));
  }

  @Test
  void refusesPasswordProtectedKey() throws IOException {
    TlsServerCredentials credentials;
    try (InputStream cert = TestTls.certificate(); InputStream key = TestTls.privateKey()) {
      credentials = (TlsServerCredentials) TlsServerCredentials.newBuilder()
          .keyManager(cert, key, "secret")
          .build();
    }
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> GuardedTls.socketFactory(credentials));
    assertTrue(e.getMessage().contains("password"), e.getMessage());
    assertTrue(e.getMessage().contains("unencrypted PKCS#8"), e.getMessage());
  }

  @Test
  void refusesFeaturesGrpcOkHttpDoesNotUnderstand() throws IOException {
    TlsServerCredentials credentials;
    try (InputStream cert = TestTls.certificate(); InputStream key = TestTls.privateKey()) {
      credentials = (TlsServerCredentials) TlsServerCredentials.newBuilder()
          .keyManager(cert, key)
          .requireFakeFeature()
          .build();
    }
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> GuardedTls.socketFactory(credentials));
    assertTrue(e.getMessage().contains("FAKE"), e.getMessage());
  }

  @Test
  void serverNeverDials() throws IOException {
    SSLSocketFactory guarded = GuardedTls.guarded(GuardedTls.socketFactory(pemCredentials()), socket -> {
      throw new AssertionError("no connection expected");
    });
    assertThrows(UnsupportedOperationException.class,
        () -> guarded.createSocket(InetAddress.getLoopbackAddress(), 443));
  }

  /** The handshake as grpc-okhttp does it, through the wrapper: ALPN must reach the real socket. */
  @Test
  @Timeout(30)
  void handshakesThroughTheWrapperAndMakesNoGuardForIt() throws Exception {
    AtomicInteger connections = new AtomicInteger();
    SSLSocketFactory guarded = GuardedTls.guarded(GuardedTls.socketFactory(pemCredentials()), socket -> {
      connections.incrementAndGet();
      throw new AssertionError("streams are not used here");
    });
    ExecutorService client = Executors.newSingleThreadExecutor();
    try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CompletableFuture<String> clientProtocol = CompletableFuture.supplyAsync(() -> {
        try (SSLSocket socket = (SSLSocket) TestTls.clientContext().getSocketFactory()
            .createSocket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
          socket.setSoTimeout(10_000);
          SSLParameters parameters = socket.getSSLParameters();
          parameters.setApplicationProtocols(new String[] {"h2"});
          socket.setSSLParameters(parameters);
          socket.startHandshake();
          return socket.getApplicationProtocol();
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      }, client);

      Socket raw = listener.accept();
      raw.setSoTimeout(10_000);
      Socket created = guarded.createSocket(raw, null, -1, true);
      SSLSocket socket = assertInstanceOf(GuardedSslSocket.class, created);
      socket.setUseClientMode(false);
      SSLParameters parameters = socket.getSSLParameters();
      parameters.setApplicationProtocols(new String[] {"h2"});
      socket.setSSLParameters(parameters);
      socket.startHandshake();

      assertEquals("h2", socket.getApplicationProtocol());
      assertEquals("h2", clientProtocol.get(10, TimeUnit.SECONDS));
      assertNotNull(socket.getSession().getCipherSuite());
      assertEquals(raw.getRemoteSocketAddress(), socket.getRemoteSocketAddress());
      assertEquals(((InetSocketAddress) raw.getLocalSocketAddress()).getPort(), socket.getLocalPort());
      assertTrue(socket.isConnected());

      socket.close();
      assertTrue(socket.isClosed());
      assertTrue(raw.isClosed(), "autoClose closes the accepted socket");
      assertThrows(IOException.class, socket::getInputStream);
      assertEquals(0, connections.get(), "a socket whose streams were never used needs no guard");
    } finally {
      client.shutdownNow();
    }
  }

  private static TlsServerCredentials pemCredentials() throws IOException {
    try (InputStream cert = TestTls.certificate(); InputStream key = TestTls.privateKey()) {
      ServerCredentials credentials = TlsServerCredentials.create(cert, key);
      return (TlsServerCredentials) credentials;
    }
  }
}
