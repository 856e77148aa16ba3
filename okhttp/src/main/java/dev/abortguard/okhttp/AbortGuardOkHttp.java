package dev.abortguard.okhttp;

import dev.abortguard.AbortGuard;
import dev.abortguard.AbortGuardConfig;
import dev.abortguard.internal.GuardParts;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.okhttp.OkHttpServerBuilder;
import io.grpc.okhttp.SslSocketFactoryServerCredentials;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Objects;
import java.util.logging.Logger;

/**
 * Guarded grpc-okhttp servers: {@code AbortGuardOkHttp.forPort(guard, port)} in place of {@code
 * OkHttpServerBuilder.forPort(port, InsecureServerCredentials.create())}.
 *
 * <p>grpc-okhttp follows early trailers with RST_STREAM(NO_ERROR) in the same write, which HAProxy
 * before 3.2 turns into CANCEL. It has no HTTP/2 pipeline to hook into, so the guard reads the
 * frames that cross each connection's socket (its plaintext side, under TLS too): it withholds that
 * reset and applies the guard's policy, keeps the peer's DATA for forgotten streams from grpc-okhttp
 * (returning the connection window, which grpc-okhttp would not), and writes its own RST_STREAM
 * when the policy says. The builder also gets the guard's call layer ({@link AbortGuard#install}).
 *
 * <p>Configure the returned builder as usual, except its {@code socketFactory(...)}: the guard
 * owns it for plaintext, and replacing it is reported at run time ({@code
 * abortguard.misconfigured{problem=transport_not_guarded}}).
 */
public final class AbortGuardOkHttp {
  private static final Logger logger = Logger.getLogger(AbortGuardOkHttp.class.getName());

  private AbortGuardOkHttp() {}

  /** A guarded plaintext grpc-okhttp server builder on {@code port}, all interfaces. */
  public static OkHttpServerBuilder forPort(AbortGuard guard, int port) {
    return forAddress(guard, new InetSocketAddress(port), InsecureServerCredentials.create());
  }

  /** Like {@link #forAddress}, on {@code port} of all interfaces. */
  public static OkHttpServerBuilder forPort(AbortGuard guard, int port, ServerCredentials credentials) {
    return forAddress(guard, new InetSocketAddress(port), credentials);
  }

  /**
   * A guarded grpc-okhttp server builder on {@code address}, with both parts of the guard.
   *
   * @param credentials {@code InsecureServerCredentials.create()}, or {@code TlsServerCredentials}
   *     (key and certificate files or bytes, or key managers; client certificates optional or
   *     required)
   * @throws IllegalArgumentException for other credentials (the guard must see the plaintext side
   *     of each connection, which it can only arrange for these two), or TLS options grpc-okhttp
   *     does not support
   */
  public static OkHttpServerBuilder forAddress(AbortGuard guard, SocketAddress address, ServerCredentials credentials) {
    Objects.requireNonNull(guard, "guard");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(credentials, "credentials");
    if (!guard.config().enabled()) {
      logger.info("abortguard is disabled (" + AbortGuardConfig.ENABLED + "=false): a stock grpc-okhttp builder");
      return OkHttpServerBuilder.forPort(address, credentials);
    }
    GuardedConnections connections = new GuardedConnections(GuardParts.of(guard), OkHttpTimers.SHARED);
    OkHttpServerBuilder builder;
    if (credentials instanceof InsecureServerCredentials) {
      builder = OkHttpServerBuilder.forPort(address, credentials)
          .socketFactory(new GuardedServerSocketFactory(connections::newConnection));
    } else if (credentials instanceof TlsServerCredentials) {
      builder = OkHttpServerBuilder.forPort(address, SslSocketFactoryServerCredentials.create(
          GuardedTls.guarded(GuardedTls.socketFactory((TlsServerCredentials) credentials), connections::newConnection)));
    } else {
      throw new IllegalArgumentException("abortguard-grpc-okhttp takes InsecureServerCredentials or "
          + "TlsServerCredentials, not " + credentials.getClass().getName() + ": the guard must see each "
          + "connection's plaintext side. Build TlsServerCredentials from your key material (key managers "
          + "and trust managers work too).");
    }
    builder.addTransportFilter(connections);
    return guard.install(builder);
  }
}
