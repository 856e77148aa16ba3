package dev.abortguard.okhttp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.testing.GuardMeters;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import io.grpc.Attributes;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerTransportFilter;
import io.grpc.okhttp.OkHttpServerBuilder;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

/**
 * A grpc-okhttp server on 127.0.0.1 serving {@link TestServers#echoService()} (with its {@code
 * x-test-abort} interceptor), stock or guarded by {@link AbortGuardOkHttp}, recording into {@link
 * #registry}; it counts the connections grpc-okhttp has open ({@link #openConnections()}). Also the
 * wire helpers the okhttp tests share ({@link #lingeringCall}, {@link #unaryEcho}).
 */
final class OkHttpTestServer implements AutoCloseable, GuardMeters {
  static final Duration WAIT = Duration.ofSeconds(5);
  static final String BIDI = TestServers.path(TestServers.BIDI);
  static final String UNARY = TestServers.path(TestServers.UNARY);
  static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");

  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  /** The guard, or null for a stock server. */
  final AbortGuard guard;
  final Server server;
  private final boolean tls;
  private final AtomicInteger openConnections = new AtomicInteger();

  private OkHttpTestServer(UnaryOperator<AbortGuard.Builder> guardOptions, ServerCredentials credentials,
      BiFunction<AbortGuard, OkHttpServerBuilder, OkHttpServerBuilder> configure) {
    this.tls = !(credentials instanceof InsecureServerCredentials);
    this.guard = guardOptions == null
        ? null
        : guardOptions.apply(AbortGuard.builder().properties(name -> null).meterRegistry(registry)).build();
    OkHttpServerBuilder builder = guard == null
        ? OkHttpServerBuilder.forPort(TestServers.LOOPBACK, credentials)
        : AbortGuardOkHttp.forAddress(guard, TestServers.LOOPBACK, credentials);
    // RawHttp2Client.sync() is a PING round trip; grpc-okhttp, like grpc-netty, limits pings, and
    // more strictly while it has no call open (a lingering stream is no call to it).
    builder.permitKeepAliveTime(0, TimeUnit.NANOSECONDS).permitKeepAliveWithoutCalls(true)
        .addService(TestServers.echoService())
        .addTransportFilter(new ServerTransportFilter() {
          @Override
          public Attributes transportReady(Attributes attributes) {
            openConnections.incrementAndGet();
            return attributes;
          }

          @Override
          public void transportTerminated(Attributes attributes) {
            openConnections.decrementAndGet();
          }
        });
    try {
      this.server = configure.apply(guard, builder).build().start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the grpc-okhttp test server", e);
    }
  }

  /** A guarded plaintext server; {@code guardOptions} configures a builder that reads no system properties. */
  static OkHttpTestServer start(UnaryOperator<AbortGuard.Builder> guardOptions) {
    return start(guardOptions, InsecureServerCredentials.create(), b -> b);
  }

  /** Like {@link #start}, with {@code credentials} and more builder settings; {@code guardOptions} null: stock. */
  static OkHttpTestServer start(UnaryOperator<AbortGuard.Builder> guardOptions, ServerCredentials credentials,
      UnaryOperator<OkHttpServerBuilder> configure) {
    return new OkHttpTestServer(guardOptions, credentials, (guard, builder) -> configure.apply(builder));
  }

  /**
   * Like {@link #start(UnaryOperator, ServerCredentials, UnaryOperator)}, where {@code configure}
   * also gets the guard (null for a stock server), for tests that misuse it on the builder.
   */
  static OkHttpTestServer startWithGuard(UnaryOperator<AbortGuard.Builder> guardOptions,
      ServerCredentials credentials, BiFunction<AbortGuard, OkHttpServerBuilder, OkHttpServerBuilder> configure) {
    return new OkHttpTestServer(guardOptions, credentials, configure);
  }

  /** A stock grpc-okhttp server: no guard at all. */
  static OkHttpTestServer startStock() {
    return start(null);
  }

  /** A stock grpc-okhttp server with {@code configure}d builder settings. */
  static OkHttpTestServer startStock(UnaryOperator<OkHttpServerBuilder> configure) {
    return start(null, InsecureServerCredentials.create(), configure);
  }

  int port() {
    return server.getPort();
  }

  RawHttp2Client connect() {
    return tls ? RawHttp2Client.connectTls("127.0.0.1", port()) : RawHttp2Client.connect("127.0.0.1", port());
  }

  /** Whether the guard is on this server's connections (false: stock, or the guard disabled). */
  boolean guarded() {
    return guard != null && guard.config().enabled();
  }

  /** Connections grpc-okhttp has made ready and not yet terminated. */
  int openConnections() {
    return openConnections.get();
  }

  /** {@code abortguard.misconfigured} for one {@code problem} tag. */
  double misconfigured(String problem) {
    Counter counter = registry.find("abortguard.misconfigured").tag("problem", problem).counter();
    return counter == null ? 0 : counter.count();
  }

  /** {@code grpc.server.streams.linger.duration}'s count: one per release recorded. */
  long lingerTimings() {
    Timer timer = registry.find("grpc.server.streams.linger.duration").timer();
    return timer == null ? 0 : timer.count();
  }

  @Override
  public MeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        throw new IllegalStateException("grpc-okhttp test server did not terminate within 5 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- wire helpers shared by the okhttp tests ----

  /** Opens a Bidi call the server aborts (PERMISSION_DENIED), leaves it open, and waits for its trailers. */
  static int lingeringCall(RawHttp2Client client) {
    int stream = client.startCall(BIDI, ABORT, false);
    Frame trailers = client.awaitFrame(stream, RawHttp2Client.HEADERS, WAIT);
    assertTrue(trailers.endStream(), client.describeFrames());
    assertEquals("7", trailers.header("grpc-status"), client.describeFrames());
    return stream;
  }

  /** A unary call on {@code client}'s connection is answered with its request and status 0. */
  static void unaryEcho(RawHttp2Client client) {
    byte[] request = "ping".getBytes(StandardCharsets.UTF_8);
    int stream = client.startCall(UNARY, Map.of(), false);
    client.sendMessage(stream, request, true);
    Frame trailers = client.awaitFrame(f -> f.streamId() == stream && f.type() == RawHttp2Client.HEADERS
        && f.endStream(), WAIT);
    assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
    assertArrayEquals(RawHttp2Client.lengthPrefixed(request), client.receivedData(stream), client.describeFrames());
  }
}
