package dev.abortguard.vertx;

import static dev.abortguard.testing.EarlyCloseExpectations.rstOn;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.internal.vertx.VertxInternals;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every wrong wiring of {@link AbortGuardVertx} either works or fails loudly, naming the fix. */
class AbortGuardVertxMisuseTest {
  static final Duration WAIT = Duration.ofSeconds(5);
  static final String BIDI = TestServers.path(TestServers.BIDI);

  static AbortGuard guard(SimpleMeterRegistry registry) {
    return AbortGuard.builder().properties(name -> null).meterRegistry(registry)
        .reset(ResetPolicy.IMMEDIATE).build();
  }

  @Test
  void installBeforeTheRequestHandlerNamesTheOrder() {
    HttpServer server = VertxTestServer.VERTX.createHttpServer();
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> AbortGuardVertx.install(guard(new SimpleMeterRegistry()), server));
    assertTrue(e.getMessage().contains("server.requestHandler(grpcServer) first"), e.getMessage());
  }

  @Test
  void installOnAListeningServerNamesTheFix() {
    try (VertxTestServer server = VertxTestServer.startStock()) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> AbortGuardVertx.install(guard(new SimpleMeterRegistry()), server.server));
      assertTrue(e.getMessage().contains("before listen()"), e.getMessage());
    }
  }

  @Test
  void installingTheSameGuardTwiceChangesNothingAndAnotherIsRefused() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AbortGuard guard = guard(registry);
    HttpServer server = VertxTestServer.VERTX.createHttpServer(
        new HttpServerOptions().setHost("127.0.0.1").setPort(0));
    server.requestHandler(VertxTestServer.grpcServer());
    assertSame(server, AbortGuardVertx.install(guard, server));
    Object wrapped = server.requestHandler();
    AbortGuardVertx.install(guard, server);
    assertSame(wrapped, server.requestHandler(), "installed once");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AbortGuardVertx.install(guard(new SimpleMeterRegistry()), server));
    assertTrue(e.getMessage().contains("another AbortGuard"), e.getMessage());
    VertxTestServer.await(server.listen().toCompletionStage().toCompletableFuture());
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.actualPort())) {
      int stream = client.startCall(BIDI, Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"), false);
      client.awaitFrame(rstOn(stream), WAIT);
      client.sync();
      assertEquals(1, client.frames(stream).stream().filter(rstOn(stream)).count(), "one reset: one adapter\n"
          + client.describeFrames());
    } finally {
      VertxTestServer.await(server.close().toCompletionStage().toCompletableFuture());
    }
  }

  @Test
  void aDisabledGuardIsStockOnTheWire() {
    try (VertxTestServer server = VertxTestServer.start(b -> b.enabled(false).reset(ResetPolicy.IMMEDIATE));
        RawHttp2Client client = server.connect()) {
      int stream = client.startCall(BIDI, Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"), false);
      client.awaitFrame(stream, HEADERS, WAIT);
      client.assertNoFrame(rstOn(stream), Duration.ofMillis(300));
      assertEquals(0, server.releasedTotal());
      assertEquals(0, server.aborts());
    }
  }

  /**
   * An HTTP/1-only server (no h2c, no TLS): gRPC requests arrive over HTTP/1.1, which the guard
   * cannot act on; it says so once per server, naming the options that enable HTTP/2, and the
   * requests still reach Vert.x.
   */
  @Test
  void grpcOverHttp1IsLoggedOnceNamingTheFix() throws Exception {
    java.util.logging.Logger logger = java.util.logging.Logger.getLogger("dev.abortguard");
    java.util.List<java.util.logging.LogRecord> records = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Handler capture = new java.util.logging.Handler() {
      @Override
      public void publish(java.util.logging.LogRecord record) {
        records.add(record);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    logger.addHandler(capture);
    try (VertxTestServer server = VertxTestServer.start(b -> b, o -> o.setHttp2ClearTextEnabled(false))) {
      java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder()
          .version(java.net.http.HttpClient.Version.HTTP_1_1).build();
      for (int i = 0; i < 2; i++) {
        java.net.http.HttpResponse<String> response = http.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + server.port() + BIDI))
            .header("content-type", "application/grpc").timeout(WAIT)
            .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(new byte[5])).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
        assertTrue(response.statusCode() > 0, "Vert.x answered: " + response.statusCode());
      }
      List<String> warnings = records.stream().filter(r -> r.getLevel() == java.util.logging.Level.WARNING)
          .map(java.util.logging.LogRecord::getMessage).collect(java.util.stream.Collectors.toList());
      assertEquals(1, warnings.size(), "logged once per server: " + warnings);
      assertTrue(warnings.get(0).contains("setHttp2ClearTextEnabled") && warnings.get(0).contains("HTTP_1_1"),
          warnings.get(0));
      assertEquals(0, server.releasedTotal());
    } finally {
      logger.removeHandler(capture);
    }
  }

  @Test
  void nullArgumentsAreNamed() {
    AbortGuard guard = guard(new SimpleMeterRegistry());
    HttpServer server = VertxTestServer.VERTX.createHttpServer();
    assertEquals("guard", assertThrows(NullPointerException.class, () -> AbortGuardVertx.install(null, server))
        .getMessage());
    assertEquals("server", assertThrows(NullPointerException.class, () -> AbortGuardVertx.install(guard, null))
        .getMessage());
    assertEquals("connection", assertThrows(NullPointerException.class, () -> AbortGuardVertx.guard(guard, null))
        .getMessage());
  }

  @Test
  void aForeignConnectionIsRefusedNamingTheVertxVersion() {
    HttpConnection foreign = (HttpConnection) Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {HttpConnection.class}, (proxy, method, args) -> null);
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> AbortGuardVertx.guard(guard(new SimpleMeterRegistry()), foreign));
    assertTrue(e.getMessage().contains("Vert.x " + VertxInternals.version()), e.getMessage());
    assertTrue(e.getMessage().contains("pass the connection Vert.x gave you"), e.getMessage());
    assertEquals("5.0.7", VertxInternals.version());
  }

  /**
   * What a framework that routes requests itself calls ({@code GuardedRequests.observe}, the
   * Quarkus extension's seam): the connection is guarded and the abort counted, as by install.
   */
  @Test
  void observeWithoutOwningTheRequestHandlerGuardsAndCounts() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AbortGuard guard = guard(registry);
    dev.abortguard.internal.vertx.GuardedRequests observer =
        new dev.abortguard.internal.vertx.GuardedRequests(dev.abortguard.internal.GuardParts.of(guard), null);
    io.vertx.grpc.server.GrpcServer grpc = VertxTestServer.grpcServer();
    HttpServer server = VertxTestServer.VERTX.createHttpServer(
        new HttpServerOptions().setHost("127.0.0.1").setPort(0));
    server.requestHandler(request -> {
      observer.observe(request);
      grpc.handle(request);
    });
    VertxTestServer.await(server.listen().toCompletionStage().toCompletableFuture());
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.actualPort())) {
      int stream = client.startCall(BIDI, Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"), false);
      client.awaitFrame(rstOn(stream), WAIT); // immediate
      assertEquals(1.0, dev.abortguard.testing.GuardMeters.settle(() -> registry.find("grpc.server.aborts")
          .tag("statusCode", "PERMISSION_DENIED").counters().stream().mapToDouble(c -> c.count()).sum(), 1.0),
          registry.getMetersAsString());
    } finally {
      VertxTestServer.await(server.close().toCompletionStage().toCompletableFuture());
    }
  }

  /**
   * {@code guard(guard, connection)} from the server's connection handler, without install: the
   * policy applies (no aborts counted: that is install's request handler), and guarding the same
   * connection again from a request handler changes nothing.
   */
  @Test
  void guardFromTheConnectionHandlerIsIdempotent() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AbortGuard guard = guard(registry);
    HttpServer server = VertxTestServer.VERTX.createHttpServer(
        new HttpServerOptions().setHost("127.0.0.1").setPort(0));
    io.vertx.grpc.server.GrpcServer grpc = VertxTestServer.grpcServer();
    server.connectionHandler(connection -> AbortGuardVertx.guard(guard, connection));
    server.requestHandler(request -> {
      AbortGuardVertx.guard(guard, request.connection());
      grpc.handle(request);
    });
    VertxTestServer.await(server.listen().toCompletionStage().toCompletableFuture());
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.actualPort())) {
      int stream = client.startCall(BIDI, Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"), false);
      client.awaitFrame(rstOn(stream), WAIT);
      client.sync();
      assertEquals(1, client.frames(stream).stream().filter(rstOn(stream)).count(), client.describeFrames());
      AbortGuard other = guard(new SimpleMeterRegistry());
      int second = client.startCall(BIDI, Map.of(), false);
      client.sync();
      assertEquals(1.0, registry.get("grpc.server.streams.released").tag("cause", ReleaseCause.IMMEDIATE.tagValue())
          .counter().count());
      client.sendData(second, new byte[0], true);
      assertTrue(other != guard);
    } finally {
      VertxTestServer.await(server.close().toCompletionStage().toCompletableFuture());
    }
  }
}
