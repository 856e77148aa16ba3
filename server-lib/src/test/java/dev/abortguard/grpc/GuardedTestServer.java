package dev.abortguard.grpc;

import dev.abortguard.AbortGuard;
import dev.abortguard.testing.GuardMeters;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.TestServers;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.function.UnaryOperator;

/** A grpc-java Netty server on 127.0.0.1 with the test echo service, a guard and a meter registry. */
final class GuardedTestServer implements AutoCloseable, GuardMeters {
  final SimpleMeterRegistry registry;
  final AbortGuard guard;
  final Server server;

  private GuardedTestServer(AbortGuard guard, Server server, SimpleMeterRegistry registry) {
    this.guard = guard;
    this.server = server;
    this.registry = registry;
  }

  /**
   * Starts a plaintext server; {@code guardOptions} configures a builder that reads no system
   * properties and records into {@link #registry}.
   */
  static GuardedTestServer start(UnaryOperator<AbortGuard.Builder> guardOptions) {
    return start(guardOptions, InsecureServerCredentials.create(), b -> b.addService(TestServers.echoService()));
  }

  /**
   * Starts a server built with {@code guard.forAddress(127.0.0.1:0, credentials)}, then {@code
   * configure}d (services, limits).
   */
  static GuardedTestServer start(UnaryOperator<AbortGuard.Builder> guardOptions, ServerCredentials credentials,
      UnaryOperator<NettyServerBuilder> configure) {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AbortGuard guard = guardOptions.apply(AbortGuard.builder().properties(name -> null).meterRegistry(registry)).build();
    NettyServerBuilder builder = TestServers.configure(guard.forAddress(TestServers.LOOPBACK, credentials));
    return new GuardedTestServer(guard, TestServers.start(configure.apply(builder)), registry);
  }

  int port() {
    return server.getPort();
  }

  RawHttp2Client connect() {
    return RawHttp2Client.connect("127.0.0.1", port());
  }

  @Override
  public MeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    TestServers.stop(server);
  }
}
