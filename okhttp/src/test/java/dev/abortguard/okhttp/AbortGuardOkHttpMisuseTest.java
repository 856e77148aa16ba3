package dev.abortguard.okhttp;

import static dev.abortguard.okhttp.OkHttpTestServer.ABORT;
import static dev.abortguard.okhttp.OkHttpTestServer.BIDI;
import static dev.abortguard.okhttp.OkHttpTestServer.WAIT;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.EarlyCloseExpectations;
import dev.abortguard.testing.GuardMeters;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import dev.abortguard.testing.TestTls;
import io.grpc.ChoiceServerCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.okhttp.SslSocketFactoryServerCredentials;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import javax.net.ServerSocketFactory;
import javax.net.ssl.SSLSocketFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Ways to get {@link AbortGuardOkHttp} wrong, and what each does: credentials the guard cannot see
 * through are refused with a message that names the fix; a disabled guard is stock grpc-okhttp
 * and records nothing; a socket factory replaced after the guard made the builder serves
 * unguarded connections, reported once in the log and counted per connection as {@code
 * abortguard.misconfigured{problem=transport_not_guarded}}; installing the call layer again
 * changes nothing; null arguments are named.
 */
class AbortGuardOkHttpMisuseTest {
  static final UnaryOperator<AbortGuard.Builder> LONG_DEFERRED =
      b -> b.reset(ResetPolicy.DEFERRED).resetGrace(Duration.ofMinutes(1));

  static AbortGuard guard() {
    return AbortGuard.builder().properties(name -> null).build();
  }

  @Test
  void sslSocketFactoryCredentialsAreRefusedNamingTheFix() {
    ServerCredentials credentials =
        SslSocketFactoryServerCredentials.create((SSLSocketFactory) SSLSocketFactory.getDefault());
    assertRefusedNamingTheFix(credentials);
  }

  @Test
  void choiceCredentialsAreRefusedNamingTheFix() {
    assertRefusedNamingTheFix(
        ChoiceServerCredentials.create(TestServers.tlsCredentials(), InsecureServerCredentials.create()));
  }

  static void assertRefusedNamingTheFix(ServerCredentials credentials) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AbortGuardOkHttp.forPort(guard(), 0, credentials));
    String message = e.getMessage();
    assertTrue(message.contains(credentials.getClass().getName()), "names what was passed: " + message);
    assertTrue(message.contains("InsecureServerCredentials") && message.contains("TlsServerCredentials"),
        "names what to pass instead: " + message);
  }

  @Test
  void aPasswordProtectedKeyIsRefusedNamingTheFix() throws Exception {
    ServerCredentials credentials;
    try (InputStream cert = TestTls.certificate();
        InputStream key = TestTls.privateKey()) {
      credentials = TlsServerCredentials.newBuilder().keyManager(cert, key, "secret").build();
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AbortGuardOkHttp.forPort(guard(), 0, credentials));
    assertTrue(e.getMessage().contains("unencrypted PKCS#8"), e.getMessage());
  }

  @Test
  void nullArgumentsAreNamed() {
    AbortGuard guard = guard();
    InetSocketAddress address = TestServers.LOOPBACK;
    ServerCredentials insecure = InsecureServerCredentials.create();
    assertNullNamed("guard", () -> AbortGuardOkHttp.forPort(null, 0));
    assertNullNamed("guard", () -> AbortGuardOkHttp.forPort(null, 0, insecure));
    assertNullNamed("credentials", () -> AbortGuardOkHttp.forPort(guard, 0, null));
    assertNullNamed("guard", () -> AbortGuardOkHttp.forAddress(null, address, insecure));
    assertNullNamed("address", () -> AbortGuardOkHttp.forAddress(guard, null, insecure));
    assertNullNamed("credentials", () -> AbortGuardOkHttp.forAddress(guard, address, null));
  }

  static void assertNullNamed(String argument, Executable call) {
    NullPointerException e = assertThrows(NullPointerException.class, call);
    assertEquals(argument, e.getMessage());
  }

  /** A disabled guard: a stock builder, stock frames, and not one meter registered. */
  @Test
  void aDisabledGuardIsStockOnTheWireAndRecordsNothing() {
    try (OkHttpTestServer server = OkHttpTestServer.start(b -> b.enabled(false));
        RawHttp2Client client = server.connect()) {
      assertStockReset(client);
      OkHttpTestServer.unaryEcho(client);
      client.sync();
      assertEquals(List.of(), server.registry.getMeters(), "a disabled guard records nothing");
    }
  }

  /**
   * {@code socketFactory(...)} replaced on the returned builder: the connections are grpc-okhttp's
   * own, so its reset goes out with the trailers as stock; each connection counts once as {@code
   * transport_not_guarded} and the log says so once, naming the fix.
   */
  @Test
  void aReplacedSocketFactoryIsReportedPerConnection() {
    try (LogRecords severe = LogRecords.watch(r -> r.getLevel().intValue() >= Level.SEVERE.intValue(),
            AbortGuardOkHttp.class.getName());
        OkHttpTestServer server = OkHttpTestServer.startWithGuard(LONG_DEFERRED, InsecureServerCredentials.create(),
            (guard, builder) -> builder.socketFactory(ServerSocketFactory.getDefault()))) {
      for (int connection = 1; connection <= 2; connection++) {
        try (RawHttp2Client client = server.connect()) {
          assertStockReset(client);
          int expected = connection;
          assertEquals(expected, GuardMeters.settle(() -> server.misconfigured("transport_not_guarded"), expected),
              "abortguard.misconfigured{problem=transport_not_guarded} after connection " + connection);
        }
      }
      assertEquals(0, server.lingering(), "nothing lingers on an unguarded connection");
      assertEquals(0, server.releasedTotal());
      assertEquals(2, server.abortsReaching(2), "the call layer still counts aborts");
      List<LogRecord> logged = severe.records();
      assertEquals(1, logged.size(), "logged once: " + logged);
      assertTrue(logged.get(0).getMessage().contains("socketFactory(...)"), logged.get(0).getMessage());
    }
  }

  /** {@code guard.install(builder)} again on the builder AbortGuardOkHttp made: aborts counted once, still guarded. */
  @Test
  void installingAgainChangesNothing() {
    try (OkHttpTestServer server = OkHttpTestServer.startWithGuard(LONG_DEFERRED, InsecureServerCredentials.create(),
            (guard, builder) -> guard.install(guard.install(builder)));
        RawHttp2Client client = server.connect()) {
      for (int i = 1; i <= 3; i++) {
        OkHttpTestServer.lingeringCall(client);
        assertEquals(i, server.abortsReaching(i), "aborts after " + i + " aborted call(s)");
      }
      OkHttpTestServer.unaryEcho(client);
      client.sync();
      client.assertNoFrame(f -> f.type() == RST_STREAM, Duration.ZERO);
      assertEquals(3, server.lingering(), "still guarded: three streams linger under deferred");
      assertEquals(3, server.aborts(), "counted once each\n" + client.describeFrames());
      assertEquals(3, server.aborts("service", TestServers.SERVICE, "method", "Bidi", "statusCode", "PERMISSION_DENIED"));
      assertEquals(0, server.misconfigured("transport_not_guarded"));
      assertEquals(0, server.misconfigured("call_layer_missing"));
    }
  }

  /** Stock grpc-okhttp's answer to an abort: trailers-only, RST_STREAM(NO_ERROR) in the same read. */
  static void assertStockReset(RawHttp2Client client) {
    int stream = client.startCall(BIDI, ABORT, false);
    Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
    EarlyCloseExpectations.assertTrailersOnly(client, stream, trailers);
    EarlyCloseExpectations.expectImmediateReset(client, stream, trailers);
  }
}
