package dev.abortguard.sample;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What a {@link SampleServer} binds and how its guard is configured; immutable, parsed from the
 * command line by {@link #parse}.
 */
public final class Options {
  static final String DEFAULT_HOST = "127.0.0.1";
  static final int DEFAULT_PORT = 50051;
  /** {@link #metricsPort()} when there is no metrics endpoint. */
  public static final int NO_METRICS = -1;

  /** What serves the demo service. */
  public enum Transport {
    /** grpc-java's Netty server, with the guard installed on its builder. */
    GRPC("grpc"),
    /**
     * A plain Netty server: {@code Http2FrameCodec}, the guard's handler and an {@code
     * Http2MultiplexHandler} whose child channels answer the gRPC requests themselves.
     */
    FRAME_CODEC("frame-codec"),
    /** An Armeria server: its {@code GrpcService}, with the guard installed on its builder. */
    ARMERIA("armeria"),
    /**
     * grpc-java's OkHttp server (grpc-okhttp), its builder made by {@code AbortGuardOkHttp.forAddress}:
     * the guard on each connection's socket and its call layer on the builder.
     */
    OKHTTP("okhttp"),
    /**
     * A Vert.x {@code GrpcServer} on a Vert.x {@code HttpServer} (h2c), the guard installed with {@code
     * AbortGuardVertx.install}.
     */
    VERTX("vertx");

    private final String flagValue;

    Transport(String flagValue) {
      this.flagValue = flagValue;
    }

    /** How {@code --transport} names it. */
    public String flagValue() {
      return flagValue;
    }

    static Transport parse(String text) {
      for (Transport transport : values()) {
        if (transport.flagValue.equals(text.trim().toLowerCase(Locale.ROOT))) {
          return transport;
        }
      }
      throw new IllegalArgumentException("--transport: '" + text + "' is none of "
          + Arrays.stream(values()).map(Transport::flagValue).collect(Collectors.joining(", ")));
    }
  }

  /** The command line's syntax, for error messages. */
  public static final String USAGE = CommandLine.USAGE;

  private final String host;
  private final int port;
  private final int metricsPort;
  private final Transport transport;
  private final Function<String, String> guardProperties;
  /** 0: the transport's default. */
  private int maxConcurrentStreams;
  /** 0: the transport's default. */
  private int maxRstFrames;
  private int maxRstSeconds;

  private Options(
      String host, int port, int metricsPort, Transport transport, Function<String, String> guardProperties) {
    this.host = host;
    this.port = port;
    this.metricsPort = metricsPort;
    this.transport = transport;
    this.guardProperties = guardProperties;
  }

  private Options copy(String host, int port, int metricsPort, Transport transport,
      Function<String, String> guardProperties) {
    Options copy = new Options(host, port, metricsPort, transport, guardProperties);
    copy.maxConcurrentStreams = maxConcurrentStreams;
    copy.maxRstFrames = maxRstFrames;
    copy.maxRstSeconds = maxRstSeconds;
    return copy;
  }

  /** 127.0.0.1:50051, no metrics endpoint, the grpc transport, guard settings from the system properties. */
  public static Options defaults() {
    return new Options(DEFAULT_HOST, DEFAULT_PORT, NO_METRICS, Transport.GRPC, System::getProperty);
  }

  /**
   * Parses {@code --port N}, {@code --metrics-port N}, {@code --host ADDRESS}, {@code
   * --transport grpc|frame-codec|armeria|okhttp|vertx}, {@code --max-concurrent-streams N} and {@code
   * --max-rst-frames N/SECONDS} (each also as {@code --flag=value}, each at most once) over {@link
   * #defaults()}.
   *
   * @throws IllegalArgumentException saying what is wrong: an unknown flag, a missing value, a
   *     repeated flag, a port that is not a number from 0 to 65535, an unknown transport or a flag
   *     the transport does not support (see {@link #checkSupported()})
   */
  public static Options parse(String... args) {
    return CommandLine.parse(args);
  }

  /**
   * Throws unless the transport supports every option set: {@code --max-rst-frames} with {@code
   * okhttp} does not (grpc-okhttp's server has no limit on the RST_STREAM frames a peer sends).
   * {@link #parse} checks this, and {@link SampleServer#start} again for options built in code.
   *
   * @throws IllegalArgumentException naming the flag and the transport
   */
  void checkSupported() {
    if (transport == Transport.OKHTTP && maxRstFrames > 0) {
      throw new IllegalArgumentException("--max-rst-frames is not supported with --transport okhttp:"
          + " grpc-okhttp's server has no limit on RST_STREAM frames (no maxRstFramesPerWindow);"
          + " leave the flag out or use another transport");
    }
  }

  public String host() {
    return host;
  }

  /** The gRPC port; 0 picks a free one. */
  public int port() {
    return port;
  }

  /** The metrics port, 0 to pick a free one, or {@link #NO_METRICS}. */
  public int metricsPort() {
    return metricsPort;
  }

  /** What serves the demo service. */
  public Transport transport() {
    return transport;
  }

  /** Where the guard's unset options are read (a property name to its value, or null). */
  public Function<String, String> guardProperties() {
    return guardProperties;
  }

  public Options withHost(String host) {
    return copy(Objects.requireNonNull(host, "host"), port, metricsPort, transport, guardProperties);
  }

  public Options withPort(int port) {
    return copy(host, checkPort("port", port), metricsPort, transport, guardProperties);
  }

  /** Serves metrics on {@code metricsPort} (0 picks a free one), or not at all with {@link #NO_METRICS}. */
  public Options withMetricsPort(int metricsPort) {
    if (metricsPort != NO_METRICS) {
      checkPort("metricsPort", metricsPort);
    }
    return copy(host, port, metricsPort, transport, guardProperties);
  }

  /** Serves the demo service with {@code transport}. */
  public Options withTransport(Transport transport) {
    return copy(host, port, metricsPort, Objects.requireNonNull(transport, "transport"), guardProperties);
  }

  /** Reads the guard's {@code abortguard.*} settings from {@code properties} instead of system properties. */
  public Options withGuardProperties(Function<String, String> properties) {
    return copy(host, port, metricsPort, transport, Objects.requireNonNull(properties, "properties"));
  }

  /** SETTINGS_MAX_CONCURRENT_STREAMS per connection, or 0 for the transport's default. */
  public int maxConcurrentStreams() {
    return maxConcurrentStreams;
  }

  /** RST_STREAM frames a peer may send per {@link #maxRstSeconds()}, or 0 for the transport's default. */
  public int maxRstFrames() {
    return maxRstFrames;
  }

  /** The window of {@link #maxRstFrames()}, in seconds. */
  public int maxRstSeconds() {
    return maxRstSeconds;
  }

  /** Advertises {@code n} as SETTINGS_MAX_CONCURRENT_STREAMS. */
  public Options withMaxConcurrentStreams(int n) {
    Options copy = copy(host, port, metricsPort, transport, guardProperties);
    copy.maxConcurrentStreams = n;
    return copy;
  }

  /** Closes connections whose peer sends more than {@code frames} RST_STREAM frames in {@code seconds}. */
  public Options withMaxRstFrames(int frames, int seconds) {
    Options copy = copy(host, port, metricsPort, transport, guardProperties);
    copy.maxRstFrames = frames;
    copy.maxRstSeconds = seconds;
    return copy;
  }

  @Override
  public String toString() {
    return "Options{host=" + host + ", port=" + port + ", metricsPort=" + metricsPort
        + ", transport=" + transport.flagValue() + "}";
  }

  private static int checkPort(String name, int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(name + " " + port + " is not from 0 to 65535");
    }
    return port;
  }
}
