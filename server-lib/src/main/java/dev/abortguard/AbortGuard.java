package dev.abortguard;

import dev.abortguard.grpc.AbortInterceptor;
import dev.abortguard.grpc.GuardedNegotiators;
import dev.abortguard.metrics.GuardMetrics;
import dev.abortguard.netty.EarlyCloseFrameHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerAdapter;
import io.netty.channel.ChannelHandlerContext;
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
 * Server server = guard.install(NettyServerBuilder.forPort(50051)
 *         .addService(service))   // install after your own interceptors
 *     .build().start();
 * }</pre>
 *
 * <p>Settings come from the {@code abortguard.*} system properties (see {@link AbortGuardConfig}),
 * read once when the guard is built; the builder's setters override them. A guard is immutable
 * and may serve any number of servers.
 */
public final class AbortGuard {
  private static final Logger logger = Logger.getLogger(AbortGuard.class.getName());

  private final AbortGuardConfig config;
  private final GuardMetrics metrics;
  private final AbortInterceptor interceptor;
  /** Set once the HTTP/2 adapter is in use, so the interceptor can count withheld resets. */
  private volatile boolean transportGuarded;

  private AbortGuard(AbortGuardConfig config, GuardMetrics metrics) {
    this.config = config;
    this.metrics = metrics;
    boolean deferred = config.reset() == ResetPolicy.DEFERRED;
    this.interceptor =
        new AbortInterceptor(config.trailersOnly(), () -> deferred && transportGuarded, metrics);
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

  /**
   * Adds the guard to a builder made with {@code NettyServerBuilder.forPort} or {@code forAddress},
   * plaintext or TLS: the {@link #interceptor() interceptor} and the HTTP/2 adapter that applies
   * the reset policy. Call it after configuring security and after your own {@code intercept(...)}
   * calls, so that the guard sees aborts made by your interceptors.
   *
   * @throws IllegalStateException if the builder was made from {@link ServerCredentials} (use
   *     {@link #wrap(ServerCredentials)} for those), or already has a guard
   */
  public NettyServerBuilder install(NettyServerBuilder builder) {
    Objects.requireNonNull(builder, "builder");
    if (!config.enabled()) {
      logger.info("abortguard is disabled (" + AbortGuardConfig.ENABLED + "=false): installing nothing");
      return builder;
    }
    GuardedNegotiators.install(builder, config, metrics);
    transportGuarded = true;
    builder.intercept(interceptor);
    return builder;
  }

  /**
   * Credentials that carry the guard's HTTP/2 adapter, for servers built from {@link
   * ServerCredentials} (for example {@code Grpc.newServerBuilderForPort(port, guard.wrap(creds))}).
   * Add {@link #interceptor()} to such a server as well.
   *
   * @throws IllegalArgumentException if the credentials are not ones grpc-netty understands
   */
  public ServerCredentials wrap(ServerCredentials credentials) {
    Objects.requireNonNull(credentials, "credentials");
    if (!config.enabled()) {
      logger.info("abortguard is disabled (" + AbortGuardConfig.ENABLED + "=false): credentials left as they are");
      return credentials;
    }
    ServerCredentials wrapped = GuardedNegotiators.wrap(credentials, config, metrics);
    transportGuarded = true;
    return wrapped;
  }

  /**
   * The interceptor alone, for any server (in-process, servlet, or one built from {@link
   * #wrap(ServerCredentials) wrapped credentials}): an abort before the first response message
   * goes out trailers-only, and aborts are counted. Add it last, so it is the outermost.
   */
  public ServerInterceptor interceptor() {
    if (!config.enabled()) {
      return PassThroughInterceptor.INSTANCE;
    }
    return interceptor;
  }

  /**
   * A new handler for one connection of a server built on Netty's {@code Http2FrameCodec}: add it
   * between the codec and the {@code Http2MultiplexHandler}, e.g. in a {@code ChannelInitializer}:
   * {@code pipeline.addLast(codec, guard.http2FrameCodecHandler(), new Http2MultiplexHandler(child))}.
   * A disabled guard returns a handler that removes itself.
   */
  public ChannelHandler http2FrameCodecHandler() {
    if (!config.enabled()) {
      return new SelfRemovingHandler();
    }
    return new EarlyCloseFrameHandler(config, metrics);
  }

  /** What a disabled guard puts in a pipeline: it takes itself out again. */
  private static final class SelfRemovingHandler extends ChannelHandlerAdapter {
    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      ctx.pipeline().remove(this);
    }
  }

  /** Builds an {@link AbortGuard}; unset options come from the {@code abortguard.*} properties. */
  public static final class Builder {
    private Function<String, String> properties = System::getProperty;
    private Boolean enabled;
    private ResetPolicy reset;
    private Duration resetGrace;
    private Integer lingeringMax;
    private Boolean trailersOnly;
    private MeterRegistry meterRegistry;

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

    /** Overrides {@code abortguard.trailersOnly}. */
    public Builder trailersOnly(boolean trailersOnly) {
      this.trailersOnly = trailersOnly;
      return this;
    }

    /** Where to record metrics; without one nothing is recorded. */
    public Builder meterRegistry(MeterRegistry meterRegistry) {
      this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry");
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
      if (trailersOnly != null) {
        config = config.withTrailersOnly(trailersOnly);
      }
      // A disabled guard registers no meters either: it installs nothing at all.
      GuardMetrics metrics = meterRegistry == null || !config.enabled()
          ? GuardMetrics.NONE
          : GuardMetrics.micrometer(meterRegistry);
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
        case AbortGuardConfig.TRAILERS_ONLY:
          return trailersOnly != null;
        default:
          return false;
      }
    }
  }
}
