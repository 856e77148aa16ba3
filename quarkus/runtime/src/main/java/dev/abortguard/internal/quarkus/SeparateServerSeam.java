package dev.abortguard.internal.quarkus;

import dev.abortguard.AbortGuard;
import dev.abortguard.internal.Internal;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.NettySslContextServerCredentials;
import io.netty.handler.ssl.SslContext;
import io.vertx.grpc.VertxServerBuilder;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Both halves of the guard on quarkus-grpc's separate server, the grpc-java {@link
 * NettyServerBuilder} that vertx-grpc's {@link VertxServerBuilder} makes (without credentials,
 * so its security stays settable).
 *
 * <ul>
 *   <li>Call layer: {@link AbortGuard#install} on the Netty builder (stream tracer, transport
 *       check, the guard's interceptor, outermost).
 *   <li>HTTP/2 adapter, plaintext: the guard's negotiator ({@code guard.wrap(InsecureServerCredentials)})
 *       set on the Netty builder when quarkus-grpc's customizers run.
 *   <li>HTTP/2 adapter, TLS: vertx-grpc sets TLS itself when the server starts ({@code
 *       VertxServer$ActualServer} calls {@code nettyBuilder.sslContext(ctx)} with the context it
 *       built from Quarkus's {@code quarkus.grpc.server.ssl.*}), which replaces any negotiator
 *       set earlier, and no public hook runs after it. The extension's build step rewrites that
 *       one call to {@link #sslContext}, which applies the same context and then the guard's
 *       negotiator around it ({@code guard.wrap(NettySslContextServerCredentials.create(ctx))}).
 *       The build step fails if the call is not where it expects, naming the vertx-grpc version.
 * </ul>
 *
 * With grpc's credentials wrapper the only grpc {@code Internal*} API here; a connection that
 * lost the adapter anyway (security changed afterwards) is reported by the call layer's
 * transport check: one ERROR line and {@code abortguard.misconfigured}.
 */
@Internal
public final class SeparateServerSeam {
  /** Internal name of the class whose call the build step rewrites. */
  public static final String REWRITTEN_CLASS = "io.vertx.grpc.VertxServer$ActualServer";
  /** Owner, name and descriptor of the call rewritten, and of its replacement. */
  public static final String NETTY_BUILDER = "io/grpc/netty/NettyServerBuilder";
  public static final String SSL_CONTEXT = "sslContext";
  public static final String SSL_CONTEXT_DESCRIPTOR = "(Lio/netty/handler/ssl/SslContext;)Lio/grpc/netty/NettyServerBuilder;";
  public static final String HOOK_OWNER = "dev/abortguard/internal/quarkus/SeparateServerSeam";
  public static final String HOOK_DESCRIPTOR =
      "(Lio/grpc/netty/NettyServerBuilder;Lio/netty/handler/ssl/SslContext;)Lio/grpc/netty/NettyServerBuilder;";

  /** Netty builders the guard was installed on, and by which guard. Weak: builders come and go. */
  private static final Map<NettyServerBuilder, AbortGuard> GUARDED = Collections.synchronizedMap(new WeakHashMap<>());

  private SeparateServerSeam() {}

  /**
   * The HTTP/2 adapter, before any other customizer: one that sets its own security afterwards
   * (sslContext, useTransportSecurity) keeps it, and the call layer's transport check reports the
   * adapter lost, rather than the guard silently turning that server to plaintext.
   */
  static void installAdapter(AbortGuard guard, VertxServerBuilder builder) {
    NettyServerBuilder netty = builder.nettyBuilder();
    netty.protocolNegotiator(negotiator(guard.wrap(InsecureServerCredentials.create())));
    GUARDED.put(netty, guard);
  }

  /** The call layer, after every other customizer, so the guard's interceptor is outermost. */
  static void installCallLayer(AbortGuard guard, VertxServerBuilder builder) {
    guard.install(builder.nettyBuilder());
  }

  /**
   * What vertx-grpc's {@code nettyBuilder.sslContext(ctx)} call becomes: the same call, then, on a
   * guarded builder, the guard's negotiator around that TLS context.
   */
  public static NettyServerBuilder sslContext(NettyServerBuilder builder, SslContext sslContext) {
    builder.sslContext(sslContext);
    AbortGuard guard = GUARDED.get(builder);
    if (guard != null && sslContext != null) {
      builder.protocolNegotiator(negotiator(guard.wrap(NettySslContextServerCredentials.create(sslContext))));
    }
    return builder;
  }

  // No offload executor: TLS handshake tasks run on the connection's event loop.
  private static InternalProtocolNegotiator.ProtocolNegotiator negotiator(ServerCredentials guarded) {
    return InternalNettyServerCredentials.toNegotiator(guarded).newNegotiator(null);
  }
}
