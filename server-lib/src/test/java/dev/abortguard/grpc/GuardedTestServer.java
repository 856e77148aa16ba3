package dev.abortguard.grpc;

import dev.abortguard.AbortGuard;
import dev.abortguard.core.ReleaseCause;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.TestServers;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/** A grpc-java Netty server on 127.0.0.1 with the test echo service, a guard and a meter registry. */
final class GuardedTestServer implements AutoCloseable {
  private static final AtomicLong pings = new AtomicLong();

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
    return start(guardOptions, TestServers.plaintextBuilder());
  }

  static GuardedTestServer start(UnaryOperator<AbortGuard.Builder> guardOptions, NettyServerBuilder builder) {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AbortGuard guard = guardOptions.apply(AbortGuard.builder().properties(name -> null).meterRegistry(registry)).build();
    return new GuardedTestServer(guard, TestServers.start(guard.install(builder)), registry);
  }

  int port() {
    return server.getPort();
  }

  RawHttp2Client connect() {
    return RawHttp2Client.connect("127.0.0.1", port());
  }

  /** {@code grpc.server.streams.released} for one cause. */
  double released(ReleaseCause cause) {
    Counter counter = registry.find("grpc.server.streams.released").tag("cause", cause.tagValue()).counter();
    return counter == null ? 0 : counter.count();
  }

  /** {@code grpc.server.streams.released}, all causes. */
  double releasedTotal() {
    return registry.find("grpc.server.streams.released").counters().stream().mapToDouble(Counter::count).sum();
  }

  /** {@code grpc.server.streams.lingering}. */
  double lingering() {
    Gauge gauge = registry.find("grpc.server.streams.lingering").gauge();
    return gauge == null ? 0 : gauge.value();
  }

  /** {@code grpc.server.aborts}, summed over the tags given as key, value pairs. */
  double aborts(String... tags) {
    return registry.find("grpc.server.aborts").tags(tags).counters().stream().mapToDouble(Counter::count).sum();
  }

  /** {@code grpc.server.aborts.mitigated}, summed over the tags given as key, value pairs. */
  double mitigated(String... tags) {
    return registry.find("grpc.server.aborts.mitigated").tags(tags).counters().stream()
        .mapToDouble(Counter::count).sum();
  }

  /**
   * Returns once the server has processed every frame {@code client} sent before: the server's
   * event loop answers a PING only after the frames read before it.
   */
  static void sync(RawHttp2Client client) {
    long data = pings.incrementAndGet();
    client.sendPing(data);
    client.awaitFrame(f -> f.type() == RawHttp2Client.PING && f.ack() && pingData(f) == data, Duration.ofSeconds(5));
  }

  private static long pingData(RawHttp2Client.Frame frame) {
    byte[] p = frame.payload();
    long value = 0;
    for (int i = 0; i < 8 && i < p.length; i++) {
      value = (value << 8) | (p[i] & 0xff);
    }
    return value;
  }

  /**
   * Polls a server-side condition that no frame announces (the server noticing a closed socket),
   * for at most {@code timeout}.
   */
  static void awaitCondition(String what, BooleanSupplier condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + what);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
  }

  @Override
  public void close() {
    TestServers.stop(server);
  }
}
