package dev.abortguard.internal.grpc;

import dev.abortguard.internal.Internal;
import dev.abortguard.internal.GuardParts;
import dev.abortguard.internal.metrics.GuardMetrics.Problem;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * What a guard's wrapped credentials share across their connections: the guard's parts (settings,
 * lingering budget, meters) and the one-time report that the call layer is missing.
 */
@Internal
public final class TransportGuard {
  private static final Logger logger = Logger.getLogger("dev.abortguard");

  final Object owner;
  final GuardParts parts;
  private final AtomicBoolean callLayerMissingReported = new AtomicBoolean();

  /** @param owner the guard, to tell its own wrapped credentials from another guard's */
  public TransportGuard(Object owner, GuardParts parts) {
    this.owner = owner;
    this.parts = parts;
  }

  /** A stream opened on a guarded connection and no call layer took it. */
  void callLayerMissing() {
    parts.metrics().onMisconfigured(Problem.CALL_LAYER_MISSING);
    if (callLayerMissingReported.compareAndSet(false, true)) {
      logger.severe("abortguard: this server's credentials carry the guard (guard.wrap(...)) but its "
          + "builder lacks the call layer, so aborts are not counted and eager headers are not held "
          + "back. Fix: build it with guard.forPort(port, credentials), or call "
          + "guard.install(builder) on the builder made from the wrapped credentials.");
    }
  }
}
