package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.RawHttp2Client;
import io.quarkus.test.QuarkusProdModeTest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Stops a packaged Quarkus application (QuarkusProdModeTest: the built jar, run as a process)
 * while a silent peer holds aborted streams open, and reports what the peer saw and how long the
 * stop took.
 */
final class ShutdownMeasure {
  static final int STREAMS = 10;
  private static final Pattern STARTED = Pattern.compile("Started gRPC server on [^:]+:(\\d+)");
  private static final Pattern LISTENING = Pattern.compile("Listening on: http://[^:]+:(\\d+)");

  /** What one stop looked like. */
  record Result(long stopMillis, long resets, boolean goAway, boolean closed, String frames) {
    @Override
    public String toString() {
      return "stop took " + stopMillis + " ms; peer saw " + resets + " RST_STREAM, GOAWAY " + goAway
          + ", connection closed " + closed;
    }
  }

  private ShutdownMeasure() {}

  static int grpcPort(QuarkusProdModeTest app) {
    Matcher m = STARTED.matcher(app.getStartupConsoleOutput());
    assertTrue(m.find(), "no 'Started gRPC server' line:\n" + app.getStartupConsoleOutput());
    return Integer.parseInt(m.group(1));
  }

  /** The HTTP port, where the unified server serves gRPC. */
  static int httpPort(QuarkusProdModeTest app) {
    Matcher m = LISTENING.matcher(app.getStartupConsoleOutput());
    assertTrue(m.find(), "no 'Listening on' line:\n" + app.getStartupConsoleOutput());
    return Integer.parseInt(m.group(1));
  }

  static Result stopWithLingeringStreams(QuarkusProdModeTest app) {
    return stopWithLingeringStreams(app, grpcPort(app));
  }

  static Result stopWithLingeringStreams(QuarkusProdModeTest app, int port) {
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", port)) {
      List<Integer> ids = new ArrayList<>();
      for (int i = 0; i < STREAMS; i++) {
        ids.add(QuarkusApp.abortedBidi(client).streamId());
      }
      long start = System.nanoTime();
      app.stop();
      long stopMillis = (System.nanoTime() - start) / 1_000_000;
      client.awaitClosed(Duration.ofSeconds(5));
      long resets = client.frames().stream()
          .filter(f -> !f.sent() && f.type() == RawHttp2Client.RST_STREAM && ids.contains(f.streamId())).count();
      boolean goAway = client.frames().stream().anyMatch(f -> !f.sent() && f.type() == RawHttp2Client.GOAWAY);
      return new Result(stopMillis, resets, goAway, client.isClosed(), client.describeFrames());
    }
  }
}
