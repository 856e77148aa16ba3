package dev.abortguard.sample;

import dev.abortguard.AbortGuard;
import dev.abortguard.AbortGuardConfig;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A runnable gRPC server that uses abortguard: the {@link DemoService echo service} behind the
 * {@link DemoAbortInterceptor}, health, reflection and, optionally, Prometheus metrics.
 *
 * <pre>
 * java [-Dabortguard.*=...] -jar sample-server.jar [--port 50051] [--metrics-port 9464] [--host 127.0.0.1]
 *     [--transport grpc|frame-codec|armeria|okhttp|vertx] [--max-concurrent-streams n] [--max-rst-frames n/seconds]
 * </pre>
 *
 * <p>The default transport is grpc-java's Netty server ({@link GrpcDemoServer}); {@code
 * --transport frame-codec} serves the same service from a plain Netty {@code Http2FrameCodec}
 * server instead ({@link FrameCodecDemoServer}: aborts and the Bidi echo only), {@code --transport
 * armeria} from an Armeria server ({@link ArmeriaDemoServer}: the whole service), and {@code
 * --transport okhttp} from grpc-java's OkHttp server ({@link GrpcDemoServer} again, its builder from
 * {@code AbortGuardOkHttp}: the whole service), and {@code --transport vertx} from a Vert.x {@code
 * GrpcServer} ({@link VertxDemoServer}: the demo service, no health or reflection), each guarded by
 * the same settings.
 *
 * <p>It prints one line to stdout once it is listening (see {@link #startupLine()}); scripts wait
 * for it to learn the ports. Bad arguments or {@code abortguard.*} values exit with status 2.
 */
public final class SampleServer implements AutoCloseable {
  private static final Logger logger = Logger.getLogger(SampleServer.class.getName());
  private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(5);
  static final int EXIT_USAGE = 2;
  static final int EXIT_FAILURE = 1;

  private final DemoServer server;
  private final Options.Transport transport;
  private final MetricsEndpoint metrics;
  private final PrometheusMeterRegistry registry;
  private final JvmGcMetrics gcMetrics;
  private final AbortGuardConfig guardConfig;
  private final AtomicBoolean closed = new AtomicBoolean();

  private SampleServer(
      DemoServer server,
      Options.Transport transport,
      MetricsEndpoint metrics,
      PrometheusMeterRegistry registry,
      JvmGcMetrics gcMetrics,
      AbortGuardConfig guardConfig) {
    this.server = server;
    this.transport = transport;
    this.metrics = metrics;
    this.registry = registry;
    this.gcMetrics = gcMetrics;
    this.guardConfig = guardConfig;
  }

  /**
   * Starts a server as {@code options} say and returns once it is listening.
   *
   * @throws IllegalArgumentException if an {@code abortguard.*} setting is bad, or {@code options}
   *     set what the transport does not support ({@link Options#checkSupported()})
   * @throws IOException if a port cannot be bound
   */
  public static SampleServer start(Options options) throws IOException {
    options.checkSupported();
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    JvmGcMetrics gcMetrics = new JvmGcMetrics();
    DemoServer server = null;
    try {
      AbortGuard guard =
          AbortGuard.builder().properties(options.guardProperties()).meterRegistry(registry).build();
      new ClassLoaderMetrics().bindTo(registry);
      new JvmMemoryMetrics().bindTo(registry);
      gcMetrics.bindTo(registry);
      new JvmThreadMetrics().bindTo(registry);
      new ProcessorMetrics().bindTo(registry);
      new UptimeMetrics().bindTo(registry);

      InetSocketAddress address = new InetSocketAddress(options.host(), options.port());
      switch (options.transport()) {
        case FRAME_CODEC:
          server = FrameCodecDemoServer.start(address, guard, SHUTDOWN_GRACE, options);
          break;
        case ARMERIA:
          server = ArmeriaDemoServer.start(address, guard, registry, SHUTDOWN_GRACE, options);
          break;
        case VERTX:
          server = VertxDemoServer.start(address, guard, options);
          break;
        default:
          // grpc and okhttp: grpc-java's server, on Netty or on OkHttp.
          server = GrpcDemoServer.start(address, guard, registry, options);
          break;
      }

      MetricsEndpoint metrics = null;
      if (options.metricsPort() != Options.NO_METRICS) {
        metrics = MetricsEndpoint.start(options.host(), options.metricsPort(), registry);
      }
      return new SampleServer(server, options.transport(), metrics, registry, gcMetrics, guard.config());
    } catch (IOException | RuntimeException e) {
      if (server != null) {
        server.shutdownNow();
      }
      gcMetrics.close();
      registry.close();
      throw e;
    }
  }

  /** The address the gRPC server listens on. */
  public InetSocketAddress address() {
    return server.address();
  }

  /** What serves the demo service. */
  public Options.Transport transport() {
    return transport;
  }

  /** The gRPC port (the one picked when started with port 0). */
  public int port() {
    return address().getPort();
  }

  /** The metrics endpoint's port, or {@link Options#NO_METRICS} when there is none. */
  public int metricsPort() {
    return metrics == null ? Options.NO_METRICS : metrics.address().getPort();
  }

  /** The guard's effective settings. */
  public AbortGuardConfig guardConfig() {
    return guardConfig;
  }

  /** Where the server's metrics, the guard's included, are recorded. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /**
   * The line printed once the server listens, e.g. {@code abortguard sample server listening on
   * 127.0.0.1:50051 (reset=deferred grace=10s lingering.max=1024 trailersOnly=true; metrics on
   * http://127.0.0.1:9464/metrics)}. Every other transport names itself after {@code server}, e.g.
   * {@code abortguard sample server (okhttp) listening on ...}; the default transport's line is
   * unchanged, for the scripts that read it.
   */
  public String startupLine() {
    StringBuilder line = new StringBuilder("abortguard sample server ");
    if (transport != Options.Transport.GRPC) {
      line.append('(').append(transport.flagValue()).append(") ");
    }
    line.append("listening on ")
        .append(hostAndPort(address()))
        .append(" (")
        .append(describe(guardConfig));
    if (metrics != null) {
      line.append("; metrics on http://").append(hostAndPort(metrics.address())).append(MetricsEndpoint.PATH);
    }
    return line.append(')').toString();
  }

  /** Waits at most {@code timeout} for the gRPC server to terminate; true if it has. */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    return server.awaitTermination(timeout);
  }

  /**
   * Shuts down gracefully: calls in flight get up to 5 seconds, then are cancelled (the grpc and
   * okhttp transports say so on stderr); then the metrics endpoint stops. Later calls do nothing.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      server.shutdown(SHUTDOWN_GRACE);
    } finally {
      if (metrics != null) {
        metrics.close();
      }
      gcMetrics.close();
      registry.close();
    }
  }

  /** Runs the server until SIGTERM or Ctrl-C; see the class comment for the arguments. */
  public static void main(String[] args) {
    if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
      System.out.println(Options.USAGE);
      return;
    }
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("sample-server: " + e.getMessage());
      System.err.println(Options.USAGE);
      System.exit(EXIT_USAGE);
      return;
    }
    SampleServer server;
    try {
      server = start(options);
    } catch (IllegalArgumentException e) {
      // A bad abortguard.* value: the message names the property and what it allows.
      System.err.println("sample-server: " + e.getMessage());
      System.exit(EXIT_USAGE);
      return;
    } catch (IOException e) {
      logger.log(Level.SEVERE, "sample-server: cannot start", e);
      System.exit(EXIT_FAILURE);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "sample-server-shutdown"));
    System.out.println(server.startupLine());
    System.out.flush();
    try {
      server.server.awaitTermination();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.close();
    }
  }

  static String describe(AbortGuardConfig config) {
    if (!config.enabled()) {
      return "abortguard disabled";
    }
    return "reset=" + config.reset().value()
        + " grace=" + format(config.resetGrace())
        + " lingering.max=" + config.lingeringMax()
        + " trailersOnly=" + config.trailersOnly();
  }

  /** The property syntax: {@code 250ms}, {@code 10s}, {@code 1m}. */
  static String format(Duration duration) {
    long millis = duration.toMillis();
    if (millis != 0 && millis % 60_000 == 0) {
      return millis / 60_000 + "m";
    }
    return millis != 0 && millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
  }

  private static String hostAndPort(InetSocketAddress address) {
    String host = address.getAddress() == null ? address.getHostString() : address.getAddress().getHostAddress();
    if (address.getAddress() instanceof Inet6Address) {
      int scope = host.indexOf('%');
      host = "[" + (scope < 0 ? host : host.substring(0, scope)) + "]";
    }
    return host + ":" + address.getPort();
  }
}
