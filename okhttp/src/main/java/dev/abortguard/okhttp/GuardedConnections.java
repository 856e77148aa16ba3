package dev.abortguard.okhttp;

import dev.abortguard.internal.GuardParts;
import dev.abortguard.internal.metrics.GuardMetrics.Problem;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.ServerTransportFilter;
import java.net.Socket;
import java.net.SocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * The guarded connections of one server builder: makes each accepted socket's {@link SocketStreams},
 * and, as a transport filter on the same builder, checks that every connection grpc-okhttp serves
 * came through them. A builder whose socket factory or credentials were replaced after the guard
 * was added serves unguarded connections; that is logged once and counted as {@code
 * abortguard.misconfigured{problem=transport_not_guarded}}.
 */
final class GuardedConnections extends ServerTransportFilter {
  private static final Logger logger = Logger.getLogger(AbortGuardOkHttp.class.getName());

  private final GuardParts parts;
  private final OkHttpTimers timers;
  /** Peers of the guarded connections open now. */
  private final Set<SocketAddress> peers = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean reported = new AtomicBoolean();

  GuardedConnections(GuardParts parts, OkHttpTimers timers) {
    this.parts = parts;
    this.timers = timers;
  }

  /** The guard's view of a socket just accepted (plaintext) or wrapped in TLS. */
  SocketStreams newConnection(Socket socket) {
    SocketAddress peer = socket.getRemoteSocketAddress();
    if (peer != null) {
      peers.add(peer);
    }
    Runnable forget = peer == null ? () -> { } : () -> peers.remove(peer);
    return new SocketStreams(new OkHttpConnectionGuard(parts, timers, forget), timers);
  }

  @Override
  public Attributes transportReady(Attributes attributes) {
    SocketAddress peer = attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    if (peer != null && !peers.contains(peer)) {
      parts.metrics().onMisconfigured(Problem.TRANSPORT_NOT_GUARDED);
      if (reported.compareAndSet(false, true)) {
        logger.severe("abortguard: a connection from " + peer + " is not guarded: the OkHttpServerBuilder's "
            + "socketFactory(...) was replaced after AbortGuardOkHttp made it, so grpc-okhttp's "
            + "RST_STREAM(NO_ERROR) after early trailers goes out as stock. Do not call socketFactory(...) on a "
            + "builder AbortGuardOkHttp made; pass TLS as credentials instead. Counted as abortguard.misconfigured{problem="
            + "transport_not_guarded}; logged once.");
      }
    }
    return attributes;
  }
}
