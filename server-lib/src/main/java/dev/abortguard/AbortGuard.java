package dev.abortguard;

import dev.abortguard.internal.core.LingeringBudget;
import dev.abortguard.internal.GuardParts;
import dev.abortguard.internal.grpc.AbortInterceptor;
import dev.abortguard.internal.grpc.CallLayer;
import dev.abortguard.internal.grpc.GrpcVersion;
import dev.abortguard.internal.grpc.GuardedCredentials;
import dev.abortguard.internal.grpc.PassThroughInterceptor;
import dev.abortguard.internal.grpc.TransportGuard;
import dev.abortguard.internal.metrics.GuardMetrics;
import dev.abortguard.internal.netty.EarlyCloseFrameHandler;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerBuilder;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.ChannelHandler;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * The entry point: keeps an immediate abort's status intact through HTTP/2 proxies and bounds the
 * half-open streams such aborts leave behind.
 *
 * <pre>{@code
 * AbortGuard guard = AbortGuard.builder().meterRegistry(registry).build();
 * Server server = guard.forPort(50051)                    // or forPort(port, credentials)
 *     .addService(service)
 *     .intercept(auth)                                   // any order
 *     .build().start();
 * }</pre>
 *
 * <p>A guard has two parts. The <em>HTTP/2 adapter</em> applies the reset policy on each
 * connection; it goes in through grpc-java's credentials ({@link #wrap}). The <em>call layer</em>
 * counts aborts through a stream tracer, whatever the interceptor order, and holds eagerly sent
 * headers back ({@link #install}). {@link #forPort}/{@link #forAddress} add both in one line;
 * {@link #wrap} and {@link #install} are for builders made elsewhere. Wrapping or installing twice
 * changes nothing, and a server that loses either part says so at run time: one ERROR log line
 * and the {@code abortguard.misconfigured} counter.
 *
 * <p>Settings come from the {@code abortguard.*} system properties (see {@link AbortGuardConfig}),
 * read once when the guard is built; the builder's setters override them. A guard is immutable
 * and may serve any number of servers; each server reports only what it did. The bound {@code
 * abortguard.lingering.maxTotal} is shared by all of them.
 */
public final class AbortGuard {
  private static final Logger logger = Logger.getLogger(AbortGuard.class.getName());

  private final AbortGuardConfig config;
  private final GuardMetrics metrics;
  private final LingeringBudget budget;
  /** The settings, budget and meters, as every adapter (in this artifact or another) takes them. */
  private final GuardParts parts;
  private final TransportGuard transportGuard;
  private final ServerInterceptor interceptor;

  private AbortGuard(AbortGuardConfig config, GuardMetrics metrics) {
    this.config = config;
    this.metrics = metrics;
    this.budget = new LingeringBudget(config.lingeringMaxTotal());
    this.parts = new GuardParts(config, budget, metrics);
    // For abortguard's adapters in other artifacts (Armeria, grpc-okhttp); not an API.
    GuardParts.register(this, parts);
    this.transportGuard = new TransportGuard(this, parts);
    this.interceptor = config.enabled()
        ? new AbortInterceptor(new CallLayer(config, metrics))
        : PassThroughInterceptor.INSTANCE;
  }

  /** A guard configured by the {@code abortguard.*} system properties alone, recording no metrics. */
  public static AbortGuard fromSystemProperties() {
    return builder().build();
  }

  /** A builder whose unset options come from the {@code abortguard.*} system properties. */
  public static Builder builder() {
    return new Builder();
  }

  /** The effective settings. */
  public AbortGuardConfig config() {
    return config;
  }

  /** A guarded plaintext grpc-netty server builder on {@code port}: {@code forPort(port, InsecureServerCredentials.create())}. */
  public NettyServerBuilder forPort(int port) {
    return forPort(port, InsecureServerCredentials.create());
  }

  /**
   * A guarded grpc-netty server builder on {@code port}, with both parts of the guard. For TLS pass
   * {@code TlsServerCredentials.create(certChain, privateKey)}, or {@code
   * NettySslContextServerCredentials.create(sslContext)} for an {@code SslContext}.
   *
   * @throws IllegalArgumentException if grpc-netty does not understand the credentials
   */
  public NettyServerBuilder forPort(int port, ServerCredentials credentials) {
    return install(NettyServerBuilder.forPort(port, wrap(credentials)));
  }

  /** Like {@link #forPort(int, ServerCredentials)}, on {@code address}. */
  public NettyServerBuilder forAddress(SocketAddress address, ServerCredentials credentials) {
    return install(NettyServerBuilder.forAddress(address, wrap(credentials)));
  }

  /**
   * Credentials like {@code credentials} that carry the guard's HTTP/2 adapter, for a grpc-netty
   * builder made elsewhere ({@code NettyServerBuilder.forPort(port, guard.wrap(credentials))},
   * {@code Grpc.newServerBuilderForPort(...)}). Install the call layer on that builder too.
   * Credentials this guard already wrapped come back as they are.
   *
   * @throws IllegalArgumentException if another guard wrapped them, or grpc-netty does not
   *     understand them
   * @throws IllegalStateException if grpc-java is older than the oldest release supported
   */
  public ServerCredentials wrap(ServerCredentials credentials) {
    Objects.requireNonNull(credentials, "credentials");
    if (!config.enabled()) {
      logger.info("abortguard is disabled (" + AbortGuardConfig.ENABLED + "=false): credentials left as they are");
      return credentials;
    }
    GrpcVersion.requireSupported();
    return GuardedCredentials.wrap(credentials, transportGuard);
  }

  /**
   * Adds the call layer to any server builder (grpc-netty, in-process, servlet): a stream tracer
   * that counts every abort, whatever the interceptor order, and the {@link #interceptor()} that
   * holds eager headers back. On a grpc-netty builder it also checks each connection for the
   * HTTP/2 adapter ({@link #wrap}) and reports its absence. Calling it again on the same builder
   * changes nothing.
   *
   * @throws IllegalStateException if grpc-java is older than the oldest release supported
   */
  public <T extends ServerBuilder<?>> T install(T builder) {
    Objects.requireNonNull(builder, "builder");
    if (!config.enabled()) {
      logger.info("abortguard is disabled (" + AbortGuardConfig.ENABLED + "=false): installing nothing");
      return builder;
    }
    GrpcVersion.requireSupported();
    CallLayer.install(builder, config, metrics, interceptor);
    return builder;
  }

  /**
   * The guard's interceptor: holds eagerly sent headers back so that an abort before the first
   * message goes out trailers-only. {@link #install} adds it already; add it again after your own
   * {@code intercept(...)} calls if those send headers before aborting, so it is outermost (only
   * the outermost acts). Alone, on a server without {@link #install}, it also counts the aborts
   * it sees.
   */
  public ServerInterceptor interceptor() {
    return interceptor;
  }

  /**
   * A new handler for one connection of a server built on Netty's {@code Http2FrameCodec}: add it
   * between the codec and the {@code Http2MultiplexHandler}, e.g. in a {@code ChannelInitializer}:
   * {@code pipeline.addLast(codec, guard.http2FrameCodecHandler(), new Http2MultiplexHandler(child))}.
   * A disabled guard returns a handler that removes itself.
   */
  public ChannelHandler http2FrameCodecHandler() {
    return config.enabled() ? new EarlyCloseFrameHandler(parts) : EarlyCloseFrameHandler.removingItself();
  }

  /** Builds an {@link AbortGuard}; unset options come from the {@code abortguard.*} properties. */
  public static final class Builder {
    private Function<String, String> properties = System::getProperty;
    private Boolean enabled;
    private ResetPolicy reset;
    private Duration resetGrace;
    private Integer lingeringMax;
    private Integer lingeringMaxTotal;
    private Boolean trailersOnly;
    private MeterRegistry meterRegistry;
    /** An {@code OpenTelemetry}; typed Object so that the builder loads without opentelemetry-api. */
    private Object openTelemetry;

    private Builder() {}

    /**
     * Where unset options are read from instead of system properties: a property name to its
     * value, or {@code null} when unset.
     */
    public Builder properties(Function<String, String> properties) {
      this.properties = Objects.requireNonNull(properties, "properties");
      return this;
    }

    /** Overrides {@code abortguard.enabled}. */
    public Builder enabled(boolean enabled) {
      this.enabled = enabled;
      return this;
    }

    /** Overrides {@code abortguard.reset}. */
    public Builder reset(ResetPolicy reset) {
      this.reset = Objects.requireNonNull(reset, "reset");
      return this;
    }

    /** Overrides {@code abortguard.reset.grace}; must be positive. */
    public Builder resetGrace(Duration resetGrace) {
      this.resetGrace = Objects.requireNonNull(resetGrace, "resetGrace");
      return this;
    }

    /** Overrides {@code abortguard.lingering.max}; must be at least 1. */
    public Builder lingeringMax(int lingeringMax) {
      this.lingeringMax = lingeringMax;
      return this;
    }

    /** Overrides {@code abortguard.lingering.maxTotal}; must be at least 1. */
    public Builder lingeringMaxTotal(int lingeringMaxTotal) {
      this.lingeringMaxTotal = lingeringMaxTotal;
      return this;
    }

    /** Overrides {@code abortguard.trailersOnly}. */
    public Builder trailersOnly(boolean trailersOnly) {
      this.trailersOnly = trailersOnly;
      return this;
    }

    /** Records the meters of docs/metrics.md into Micrometer. Without this or OpenTelemetry nothing is recorded. */
    public Builder meterRegistry(MeterRegistry meterRegistry) {
      this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry");
      return this;
    }

    /**
     * Records the same instruments into OpenTelemetry (its meter provider, scope {@code
     * dev.abortguard}), with OpenTelemetry's units and RPC attributes; beside a {@link
     * #meterRegistry} if both are given. Needs {@code io.opentelemetry:opentelemetry-api}, which
     * abortguard does not bring.
     */
    public Builder openTelemetry(io.opentelemetry.api.OpenTelemetry openTelemetry) {
      this.openTelemetry = Objects.requireNonNull((Object) openTelemetry, "openTelemetry");
      return this;
    }

    /**
     * Reads the properties not overridden and builds the guard.
     *
     * @throws IllegalArgumentException naming the property when a value is bad
     */
    public AbortGuard build() {
      // Overridden options are not read, so a bad property value the code replaces does not fail.
      AbortGuardConfig config = AbortGuardConfig.from(name -> isOverridden(name) ? null : properties.apply(name));
      if (enabled != null) {
        config = config.withEnabled(enabled);
      }
      if (reset != null) {
        config = config.withReset(reset);
      }
      if (resetGrace != null) {
        config = config.withResetGrace(resetGrace);
      }
      if (lingeringMax != null) {
        config = config.withLingeringMax(lingeringMax);
      }
      if (lingeringMaxTotal != null) {
        config = config.withLingeringMaxTotal(lingeringMaxTotal);
      }
      if (trailersOnly != null) {
        config = config.withTrailersOnly(trailersOnly);
      }
      // A disabled guard registers no meters either: it installs nothing at all.
      GuardMetrics metrics = config.enabled() ? GuardMetrics.of(meterRegistry, openTelemetry, config) : GuardMetrics.NONE;
      return new AbortGuard(config, metrics);
    }

    private boolean isOverridden(String property) {
      switch (property) {
        case AbortGuardConfig.ENABLED:
          return enabled != null;
        case AbortGuardConfig.RESET:
          return reset != null;
        case AbortGuardConfig.RESET_GRACE:
          return resetGrace != null;
        case AbortGuardConfig.LINGERING_MAX:
          return lingeringMax != null;
        case AbortGuardConfig.LINGERING_MAX_TOTAL:
          return lingeringMaxTotal != null;
        case AbortGuardConfig.TRAILERS_ONLY:
          return trailersOnly != null;
        default:
          return false;
      }
    }
  }
}
