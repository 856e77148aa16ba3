package dev.abortguard.grpc;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.core.LingeringStreamListener;
import io.grpc.ServerCredentials;
import io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.NettyServerBuilder;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * Puts the guard's HTTP/2 adapter into grpc-netty servers. All use of grpc-java's internal API
 * lives here and in {@link GuardedServerFactory}.
 */
public final class GuardedNegotiators {
  private static final String FROM_CREDENTIALS =
      "This NettyServerBuilder was made from ServerCredentials (for example with "
          + "Grpc.newServerBuilderForPort(port, credentials)), and such builders cannot take a "
          + "protocol negotiator. Build it from guarded credentials instead: "
          + "Grpc.newServerBuilderForPort(port, guard.wrap(credentials)).intercept(guard.interceptor())";

  private GuardedNegotiators() {}

  /** Credentials like {@code credentials} whose connections carry the guard. */
  public static ServerCredentials wrap(
      ServerCredentials credentials, AbortGuardConfig config, LingeringStreamListener listener) {
    InternalProtocolNegotiator.ServerFactory delegate = InternalNettyServerCredentials.toNegotiator(credentials);
    return InternalNettyServerCredentials.create(new GuardedServerFactory(delegate, config, listener));
  }

  /**
   * Wraps the negotiator factory {@code builder} has now (plaintext, or TLS from {@code
   * sslContext}/{@code useTransportSecurity}) so its connections carry the guard.
   *
   * @throws IllegalStateException if the builder was made from {@link ServerCredentials}, or
   *     already has a guard
   */
  public static void install(NettyServerBuilder builder, AbortGuardConfig config, LingeringStreamListener listener) {
    // NettyServerBuilder has no getter for its negotiator factory; read the field, turn the
    // factory into credentials grpc-netty's public internal API can wrap, and put the result back.
    if ((Boolean) read(builder, "freezeProtocolNegotiatorFactory")) {
      throw new IllegalStateException(FROM_CREDENTIALS);
    }
    Object factory = read(builder, "protocolNegotiatorFactory");
    if (factory instanceof GuardedServerFactory) {
      throw new IllegalStateException("abortguard is already installed on this NettyServerBuilder");
    }
    ServerCredentials current = credentialsOf(factory);
    InternalProtocolNegotiator.ServerFactory delegate = InternalNettyServerCredentials.toNegotiator(current);
    write(builder, "protocolNegotiatorFactory", new GuardedServerFactory(delegate, config, listener));
  }

  private static ServerCredentials credentialsOf(Object negotiatorFactory) {
    try {
      Class<?> credentials = Class.forName(
          NettyServerBuilder.class.getPackage().getName() + ".NettyServerCredentials");
      Method create = null;
      for (Method m : credentials.getDeclaredMethods()) {
        if (m.getName().equals("create") && m.getParameterCount() == 1) {
          create = m;
        }
      }
      if (create == null) {
        throw new NoSuchMethodException("NettyServerCredentials.create");
      }
      create.setAccessible(true);
      return (ServerCredentials) create.invoke(null, negotiatorFactory);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw unsupported(e instanceof InvocationTargetException ? e.getCause() : e);
    }
  }

  private static Object read(NettyServerBuilder builder, String name) {
    try {
      return field(name).get(builder);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw unsupported(e);
    }
  }

  private static void write(NettyServerBuilder builder, String name, Object value) {
    try {
      field(name).set(builder, value);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw unsupported(e);
    }
  }

  private static Field field(String name) throws NoSuchFieldException {
    Field field = NettyServerBuilder.class.getDeclaredField(name);
    field.setAccessible(true);
    return field;
  }

  private static IllegalStateException unsupported(Throwable cause) {
    return new IllegalStateException(
        "abortguard cannot install into this grpc-netty version's NettyServerBuilder; build the "
            + "server with Grpc.newServerBuilderForPort(port, guard.wrap(credentials)) instead", cause);
  }
}
