package dev.abortguard.probe;

import java.io.File;
import java.util.List;
import java.util.Set;

/** Where {@code serve} listens and how it rejects calls: parsed from its command line by {@link #parse}. */
final class ServeOptions {
  static final String DEFAULT_HOST = "127.0.0.1";

  static final String USAGE =
      "usage: java -jar abortguard-probe.jar serve --port P [--host ADDRESS] [--tls-cert FILE --tls-key FILE]\n"
          + "         [--behaviour ccore|netty|grpc-java]\n"
          + "  --port P            port to listen on; 0 picks a free one (printed at start)\n"
          + "  --host ADDRESS      address to bind (default " + DEFAULT_HOST + ")\n"
          + "  --tls-cert FILE     serve TLS (h2 by ALPN) with this PEM certificate chain ...\n"
          + "  --tls-key FILE      ... and this PEM PKCS#8 private key; without them, cleartext HTTP/2 (h2c)\n"
          + "  --behaviour NAME    what follows the trailers of every call, all rejected at once with\n"
          + "                      PERMISSION_DENIED (default ccore):\n"
          + "    ccore      " + Behaviour.CCORE.description() + "\n"
          + "    netty      " + Behaviour.NETTY.description() + "\n"
          + "    grpc-java  " + Behaviour.GRPC_JAVA.description() + "\n"
          + "Stops cleanly on Ctrl-C or SIGTERM.";

  private static final Set<String> VALUE_OPTIONS = Set.of("--port", "--host", "--tls-cert", "--tls-key", "--behaviour");

  private final String host;
  private final int port;
  private final File certificate;
  private final File privateKey;
  private final Behaviour behaviour;

  private ServeOptions(String host, int port, File certificate, File privateKey, Behaviour behaviour) {
    this.host = host;
    this.port = port;
    this.certificate = certificate;
    this.privateKey = privateKey;
    this.behaviour = behaviour;
  }

  /** Parses the arguments after {@code serve}. */
  static ServeOptions parse(List<String> args) throws UsageException {
    CommandLine line = CommandLine.parse("serve", args, VALUE_OPTIONS, Set.of(), Set.of());
    if (!line.positionals().isEmpty()) {
      throw new UsageException("serve takes no arguments besides options, got " + line.positionals());
    }
    if (line.value("--port") == null) {
      throw new UsageException("serve needs --port (0 picks a free one)");
    }
    int port = line.intValue("--port", -1, 0, 65535);
    String host = line.value("--host") == null ? DEFAULT_HOST : line.value("--host").trim();
    if (host.isEmpty()) {
      throw new UsageException("--host needs an address");
    }
    String cert = line.value("--tls-cert");
    String key = line.value("--tls-key");
    if ((cert == null) != (key == null)) {
      throw new UsageException("TLS needs both --tls-cert and --tls-key");
    }
    File certificate = cert == null ? null : readable("--tls-cert", cert);
    File privateKey = key == null ? null : readable("--tls-key", key);
    Behaviour behaviour = line.value("--behaviour") == null ? Behaviour.CCORE : Behaviour.parse(line.value("--behaviour"));
    return new ServeOptions(host, port, certificate, privateKey, behaviour);
  }

  private static File readable(String option, String path) throws UsageException {
    File file = new File(path);
    if (!file.isFile() || !file.canRead()) {
      throw new UsageException(option + ": cannot read '" + path + "'");
    }
    return file;
  }

  String host() {
    return host;
  }

  int port() {
    return port;
  }

  boolean tls() {
    return certificate != null;
  }

  /** The PEM certificate chain, or null without TLS. */
  File certificate() {
    return certificate;
  }

  /** The PEM PKCS#8 private key, or null without TLS. */
  File privateKey() {
    return privateKey;
  }

  Behaviour behaviour() {
    return behaviour;
  }
}
