package dev.abortguard.sample;

import java.util.HashSet;
import java.util.Set;

/** The sample server's command line: its syntax, and how it becomes {@link Options}. */
final class CommandLine {
  /** The command line's syntax, for error messages. */
  static final String USAGE =
      "usage: java [-Dabortguard.<setting>=<value> ...] -jar sample-server.jar"
          + " [--port <port>] [--metrics-port <port>] [--host <address>] [--transport grpc|frame-codec|armeria|okhttp|vertx]"
          + " [--max-concurrent-streams <n>] [--max-rst-frames <n>/<seconds>]\n"
          + "  --port <port>          gRPC port, 0 picks a free one (default " + Options.DEFAULT_PORT + ")\n"
          + "  --metrics-port <port>  serve Prometheus metrics at http://<address>:<port>/metrics,"
          + " 0 picks a free port (default: no metrics endpoint)\n"
          + "  --host <address>       address to bind (default " + Options.DEFAULT_HOST + ")\n"
          + "  --transport <name>     grpc: grpc-java's Netty server (default); frame-codec: a plain"
          + " Netty Http2FrameCodec server answering the demo service's Bidi method; armeria: an Armeria"
          + " server's GrpcService; okhttp: grpc-java's OkHttp server (grpc-okhttp);"
          + " vertx: a Vert.x GrpcServer\n"
          + "  --max-concurrent-streams <n>  SETTINGS_MAX_CONCURRENT_STREAMS per connection (grpc, okhttp:"
          + " maxConcurrentCallsPerConnection; armeria: http2MaxStreamsPerConnection; default: grpc-java's"
          + " and Armeria's unlimited, Netty's 100)\n"
          + "  --max-rst-frames <n>/<seconds>  close a connection whose peer sends more RST_STREAM frames"
          + " (Rapid Reset) in that window (grpc: maxRstFramesPerWindow; frame-codec:"
          + " decoderEnforceMaxRstFramesPerWindow; armeria: http2MaxResetFramesPerWindow; default: each"
          + " stack's own; not with okhttp, which has no such limit)\n"
          + "  abortguard settings: abortguard.enabled, abortguard.reset, abortguard.reset.grace,"
          + " abortguard.lingering.max, abortguard.lingering.maxTotal, abortguard.trailersOnly";

  private CommandLine() {}

  /** See {@link Options#parse}. */
  static Options parse(String... args) {
    Options options = Options.defaults();
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String flag = arg;
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        flag = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      }
      if (!flag.equals("--port") && !flag.equals("--metrics-port") && !flag.equals("--host")
          && !flag.equals("--transport") && !flag.equals("--max-concurrent-streams")
          && !flag.equals("--max-rst-frames")) {
        throw new IllegalArgumentException("unknown argument '" + arg + "'"
            + (arg.startsWith("-D") ? " (system properties go before -jar)" : ""));
      }
      if (!seen.add(flag)) {
        throw new IllegalArgumentException(flag + " given more than once");
      }
      if (value == null) {
        if (i + 1 == args.length) {
          throw new IllegalArgumentException(flag + " needs a value");
        }
        value = args[++i];
      }
      switch (flag) {
        case "--port":
          options = options.withPort(parsePort(flag, value));
          break;
        case "--metrics-port":
          options = options.withMetricsPort(parsePort(flag, value));
          break;
        case "--transport":
          options = options.withTransport(Options.Transport.parse(value));
          break;
        case "--max-concurrent-streams":
          options = options.withMaxConcurrentStreams(parsePositive(flag, value));
          break;
        case "--max-rst-frames": {
          String[] parts = value.split("/", -1);
          if (parts.length != 2) {
            throw new IllegalArgumentException(flag + ": '" + value + "' is not <n>/<seconds>, e.g. 200/30");
          }
          options = options.withMaxRstFrames(parsePositive(flag, parts[0]), parsePositive(flag, parts[1]));
          break;
        }
        default:
          if (value.trim().isEmpty()) {
            throw new IllegalArgumentException("--host needs an address");
          }
          options = options.withHost(value.trim());
          break;
      }
    }
    options.checkSupported();
    return options;
  }

  private static int parsePort(String flag, String text) {
    try {
      int port = Integer.parseInt(text.trim());
      if (port >= 0 && port <= 65535) {
        return port;
      }
    } catch (NumberFormatException e) {
      // reported below with the flag's name
    }
    throw new IllegalArgumentException(flag + ": '" + text + "' is not a port number from 0 to 65535");
  }

  private static int parsePositive(String flag, String text) {
    try {
      int n = Integer.parseInt(text.trim());
      if (n >= 1) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below with the flag's name
    }
    throw new IllegalArgumentException(flag + ": '" + text + "' is not a whole number from 1 to " + Integer.MAX_VALUE);
  }
}
