package dev.abortguard.internal.vertx;

import dev.abortguard.internal.Internal;
import io.netty.channel.Channel;
import io.vertx.core.http.HttpConnection;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;

/**
 * The only place that touches Vert.x's internals. Vert.x's public {@link HttpConnection} hides the
 * Netty channel under it; its implementation, {@code io.vertx.core.net.impl.ConnectionBase} (the
 * base of {@code Http2ServerConnection}, the same in Vert.x 4.5 and 5.0), has a public {@code
 * channel()}. From the channel everything else is Netty's public API: the pipeline holds Vert.x's
 * {@code VertxHttp2ConnectionHandler}, an {@code Http2ConnectionHandler} with its {@code
 * Http2Connection} and encoder. The second internal fact is the class name of the event Vert.x fires
 * down every connection's pipeline when its server closes ({@code ShutdownEvent}): matched by name,
 * so that its absence only costs the {@code shutdown} cause.
 *
 * <p>{@link #check()} runs at install time and fails loudly, naming the Vert.x version found and
 * what is needed, rather than let a guard fail silently later.
 */
@Internal
public final class VertxInternals {
  static final String CONNECTION_BASE = "io.vertx.core.net.impl.ConnectionBase";
  static final String SHUTDOWN_EVENT = "io.vertx.core.net.impl.ShutdownEvent";

  private VertxInternals() {}

  /**
   * Checks that this Vert.x has what the guard relies on.
   *
   * @throws IllegalStateException naming the Vert.x version and the missing piece
   */
  public static void check() {
    try {
      Class<?> base = Class.forName(CONNECTION_BASE, false, HttpConnection.class.getClassLoader());
      Method channel = base.getMethod("channel");
      if (!Channel.class.isAssignableFrom(channel.getReturnType())) {
        throw unsupported(CONNECTION_BASE + ".channel() returns " + channel.getReturnType().getName()
            + ", not a Netty Channel");
      }
    } catch (ClassNotFoundException | NoSuchMethodException | LinkageError e) {
      throw unsupported(CONNECTION_BASE + ".channel() is missing (" + e + ")");
    }
  }

  /**
   * The Netty channel under {@code connection}.
   *
   * @throws IllegalStateException if {@code connection} is not Vert.x's own implementation
   */
  public static Channel channel(HttpConnection connection) {
    if (connection instanceof io.vertx.core.net.impl.ConnectionBase) {
      return ((io.vertx.core.net.impl.ConnectionBase) connection).channel();
    }
    throw unsupported("the connection " + connection.getClass().getName() + " is not a " + CONNECTION_BASE
        + " (a wrapped or foreign HttpConnection?); pass the connection Vert.x gave you");
  }

  /** Whether {@code event}, seen on a connection's pipeline, is Vert.x's server shutdown. */
  static boolean isShutdownEvent(Object event) {
    return event != null && SHUTDOWN_EVENT.equals(event.getClass().getName());
  }

  /** The Vert.x core version on the classpath, as its jar says. */
  public static String version() {
    try (InputStream in = HttpConnection.class.getResourceAsStream("/META-INF/vertx/vertx-version.txt")) {
      if (in != null) {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
      }
    } catch (IOException e) {
      // fall through to the manifest
    }
    String fromManifest = HttpConnection.class.getPackage().getImplementationVersion();
    return fromManifest != null ? fromManifest : "unknown";
  }

  private static IllegalStateException unsupported(String what) {
    return new IllegalStateException("abortguard-vertx cannot guard this Vert.x " + version() + ": " + what
        + ". It needs Vert.x 4.5 or 5.0 (tested on 5.0.7, and 4.5.27 in a user build), whose HttpConnection is an " + CONNECTION_BASE
        + " with a public channel() returning the Netty channel.");
  }
}
