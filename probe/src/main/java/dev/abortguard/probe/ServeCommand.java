package dev.abortguard.probe;

import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import javax.net.ssl.SSLException;

/**
 * {@code serve}: runs the {@link ReferenceServer} until Ctrl-C or SIGTERM. Prints one line once it
 * listens (scripts read the port from it) and one when it has stopped.
 */
final class ServeCommand {
  private ServeCommand() {}

  static int run(ServeOptions options, PrintStream out, PrintStream err) throws InterruptedException {
    SslContext ssl = null;
    if (options.tls()) {
      try {
        ssl = TlsContexts.server(options.certificate(), options.privateKey());
      } catch (SSLException | IllegalArgumentException e) {
        err.println("abortguard-probe: cannot use --tls-cert " + options.certificate() + " with --tls-key "
            + options.privateKey() + ": " + e.getMessage() + " (they must be a PEM certificate chain and its"
            + " PEM PKCS#8 private key)");
        return ProbeMain.EXIT_USAGE;
      }
    }
    ReferenceServer server;
    try {
      server = ReferenceServer.start(options.host(), options.port(), ssl, options.behaviour());
    } catch (IOException e) {
      err.println("abortguard-probe: " + e.getMessage());
      return ProbeMain.EXIT_USAGE;
    }
    Thread stopper = new Thread(() -> {
      server.stop();
      out.println("abortguard-probe serve: stopped");
      out.flush();
    }, "abortguard-probe-serve-stop");
    Runtime.getRuntime().addShutdownHook(stopper);
    InetSocketAddress address = server.address();
    out.println("abortguard-probe serve: listening on " + format(address) + " ("
        + (options.tls() ? "TLS, h2 by ALPN" : "h2c") + "), behaviour " + options.behaviour().flagValue()
        + ": every call gets PERMISSION_DENIED at once, " + options.behaviour().description());
    out.flush();
    server.awaitTermination();
    return 0;
  }

  private static String format(InetSocketAddress address) {
    String host = address.getAddress().getHostAddress();
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
  }
}
