package dev.abortguard.armeria;

import com.linecorp.armeria.server.ServerBuilder;
import com.linecorp.armeria.server.ServerListener;
import dev.abortguard.AbortGuard;
import dev.abortguard.AbortGuardConfig;
import dev.abortguard.internal.GuardParts;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * Puts an {@link AbortGuard} on an Armeria server: every HTTP/2 connection the server accepts
 * follows the guard's reset policy for early-closed streams, in place of Armeria's own
 * RST_STREAM(CANCEL), and is counted in the guard's meters.
 *
 * <pre>{@code
 * AbortGuard guard = AbortGuard.builder().meterRegistry(registry).build();
 * Server server = AbortGuardArmeria.install(guard, Server.builder())
 *     .http(50051)
 *     .service(GrpcService.builder()
 *         .addService(service)
 *         .intercept(guard.interceptor())        // the call layer: counts aborts
 *         .build())
 *     .build();
 * }</pre>
 *
 * <p>Armeria resets a stream with CANCEL once both its request and its response are complete, so
 * after a trailers-only abort while the client still streams it sends trailers then CANCEL, and a
 * C-core client often reports {@code CANCELLED} even without a proxy. The guard withholds that
 * reset on every connection of the server, whatever the service, and applies its own policy:
 * {@code deferred}, {@code never} or {@code immediate} (see {@link dev.abortguard.ResetPolicy}).
 * Add {@link AbortGuard#interceptor()} to each {@code GrpcService} as well: it counts aborts in
 * {@code grpc.server.aborts} and keeps eagerly sent headers in the trailers of an abort.
 */
public final class AbortGuardArmeria {
  private static final Logger logger = Logger.getLogger("dev.abortguard");

  /** The guard each builder carries, so that installing twice changes nothing. */
  private static final Map<ServerBuilder, AbortGuard> installed = new WeakHashMap<>();

  private AbortGuardArmeria() {}

  /**
   * Adds {@code guard}'s HTTP/2 adapter to every connection of the server {@code builder} builds,
   * and returns {@code builder}. Installing the same guard again changes nothing; a disabled guard
   * installs nothing and leaves Armeria's own behaviour.
   *
   * @throws IllegalArgumentException if another guard is installed on {@code builder} already
   */
  public static ServerBuilder install(AbortGuard guard, ServerBuilder builder) {
    Objects.requireNonNull(guard, "guard");
    Objects.requireNonNull(builder, "builder");
    synchronized (installed) {
      AbortGuard present = installed.get(builder);
      if (present == guard) {
        return builder;
      }
      if (present != null) {
        throw new IllegalArgumentException("this ServerBuilder carries another AbortGuard already: "
            + "one guard per server");
      }
      installed.put(builder, guard);
    }
    GuardParts parts = GuardParts.of(guard);
    if (!parts.config().enabled()) {
      logger.info("abortguard is disabled (" + AbortGuardConfig.ENABLED + "=false): installing nothing on the "
          + "Armeria server");
      return builder;
    }
    AtomicBoolean stopping = new AtomicBoolean();
    builder.serverListener(ServerListener.builder()
        .whenStarting(server -> stopping.set(false))
        .whenStopping(server -> stopping.set(true))
        .build());
    builder.childChannelPipelineCustomizer(
        pipeline -> pipeline.addFirst(Http2HandlerWatch.NAME, new Http2HandlerWatch(parts, stopping::get)));
    return builder;
  }
}
