package dev.abortguard.okhttp;

import dev.abortguard.AbortGuard;
import dev.abortguard.testing.GuardMeters;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.TestServers;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.okhttp.OkHttpServerBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * A grpc-okhttp server on 127.0.0.1 serving {@link TestServers#echoService()} (with its {@code
 * x-test-abort} interceptor), stock or guarded by {@link AbortGuardOkHttp}, recording into {@link
 * #registry}.
 */
final class OkHttpTestServer implements AutoCloseable, GuardMeters {
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  /** The guard, or null for a stock server. */
  final AbortGuard guard;
  final Server server;
  private final boolean tls;

  private OkHttpTestServer(UnaryOperator<AbortGuard.Builder> guardOptions, ServerCredentials credentials,
      UnaryOperator<OkHttpServerBuilder> configure) {
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
        .addService(TestServers.echoService());
    try {
      this.server = configure.apply(builder).build().start();
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
    return new OkHttpTestServer(guardOptions, credentials, configure);
  }

  /** A stock grpc-okhttp server: no guard at all. */
  static OkHttpTestServer startStock() {
    return start(null);
  }

  int port() {
    return server.getPort();
  }

  RawHttp2Client connect() {
    return tls ? RawHttp2Client.connectTls("127.0.0.1", port()) : RawHttp2Client.connect("127.0.0.1", port());
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
}
