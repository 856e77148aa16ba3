package dev.abortguard.internal.grpc;

import dev.abortguard.internal.Internal;
import io.grpc.ServerCredentials;
import io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.InternalProtocolNegotiator;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Puts the guard's HTTP/2 adapter into grpc-netty servers through grpc-java's credentials API.
 * With {@link GuardedServerFactory}, the only use of grpc-netty's {@code Internal*} API.
 */
@Internal
public final class GuardedCredentials {
  /**
   * Credentials some guard made, and which guard: grpc-netty hides a credentials' negotiator
   * behind an adapter, so this is how a second wrap recognises them. Weak keys: credentials a
   * server no longer holds are forgotten.
   */
  private static final Map<ServerCredentials, TransportGuard> WRAPPED =
      Collections.synchronizedMap(new WeakHashMap<>());

  private GuardedCredentials() {}

  /**
   * Credentials like {@code credentials} whose connections carry the guard. Credentials this
   * guard already wrapped are returned as they are.
   *
   * @throws IllegalArgumentException if another guard wrapped them, or grpc-netty does not
   *     understand them
   */
  public static ServerCredentials wrap(ServerCredentials credentials, TransportGuard guard) {
    TransportGuard wrappedBy = WRAPPED.get(credentials);
    if (wrappedBy != null) {
      if (wrappedBy.owner == guard.owner) {
        return credentials; // wrapping twice changes nothing
      }
      throw new IllegalArgumentException("these credentials already carry another AbortGuard; "
          + "use one guard per server (wrap the original credentials once)");
    }
    InternalProtocolNegotiator.ServerFactory delegate;
    try {
      delegate = InternalNettyServerCredentials.toNegotiator(credentials);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("abortguard cannot wrap " + credentials.getClass().getName()
          + ": grpc-netty does not support them (" + e.getMessage() + "). Wrap the credentials "
          + "grpc-netty understands: InsecureServerCredentials, TlsServerCredentials, "
          + "NettySslContextServerCredentials, or ones already made for a NettyServerBuilder.", e);
    }
    ServerCredentials wrapped = InternalNettyServerCredentials.create(new GuardedServerFactory(delegate, guard));
    WRAPPED.put(wrapped, guard);
    return wrapped;
  }
}
