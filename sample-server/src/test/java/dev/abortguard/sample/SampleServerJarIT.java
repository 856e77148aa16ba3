package dev.abortguard.sample;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Runs the fat jar built by {@code package} as its own process, as users and scripts do. */
class SampleServerJarIT {
  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(20);
  private static final Pattern STARTUP_LINE =
      Pattern.compile("abortguard sample server (?:\\([a-z-]+\\) )?listening on 127\\.0\\.0\\.1:(\\d+) \\((.*)\\)");
  /** Marks the end of the process's stdout in the line queue. */
  private static final String EOF = new String("<eof>");

  @TempDir Path tempDir;

  /**
   * Each transport as users start it: the start-up line (the default transport's names none), an
   * aborted call with its real status, a graceful exit on SIGTERM, no leaked Netty buffer.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"grpc", "frame-codec", "okhttp"})
  void startsPrintsItsPortAndAbortsACall(String transport) throws Exception {
    List<String> args = transport.equals("grpc")
        ? List.of("--port", "0")
        : List.of("--port", "0", "--transport", transport);
    Process process = start(args, List.of("-Dio.netty.leakDetection.level=paranoid"));
    try {
      BlockingQueue<String> stdout = lines(process);
      Matcher startup = awaitStartupLine(process, stdout);
      String named = transport.equals("grpc") ? "" : "(" + transport + ") ";
      assertTrue(startup.group().startsWith("abortguard sample server " + named + "listening on "), startup.group());
      assertEquals(
          "reset=deferred grace=10s lingering.max=1024 trailersOnly=true", startup.group(2), startup.group());
      int port = Integer.parseInt(startup.group(1));

      ManagedChannel channel = DemoCalls.channel(port);
      try {
        Status status =
            DemoCalls.bidiStillStreaming(channel, DemoCalls.abortWith("PERMISSION_DENIED")).await();
        assertEquals(Status.Code.PERMISSION_DENIED, status.getCode());
        assertEquals("aborted by demo server", status.getDescription());
      } finally {
        DemoCalls.shutdown(channel);
      }

      process.destroy(); // SIGTERM: the shutdown hook stops the server gracefully
      assertTrue(process.waitFor(EXIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS),
          "server did not exit within " + EXIT_TIMEOUT + " of SIGTERM; stderr:\n" + stderr());
      String stderr = stderr();
      assertFalse(stderr.contains("LEAK"), stderr);
    } finally {
      stop(process);
    }
  }

  @Test
  void badArgumentExitsWithUsage() throws Exception {
    Process process = start(List.of("--port", "fifty"), List.of());
    try {
      assertEquals(2, awaitExit(process));
      String stderr = stderr();
      assertTrue(stderr.contains("--port: 'fifty' is not a port number"), stderr);
      assertTrue(stderr.contains("usage: "), stderr);
    } finally {
      stop(process);
    }
  }

  @Test
  void resetLimitWithOkHttpExitsNamingTheFlag() throws Exception {
    Process process = start(List.of("--port", "0", "--transport", "okhttp", "--max-rst-frames", "200/30"), List.of());
    try {
      assertEquals(2, awaitExit(process));
      String stderr = stderr();
      assertTrue(stderr.contains("sample-server: --max-rst-frames is not supported with --transport okhttp"), stderr);
      assertTrue(stderr.contains("usage: "), stderr);
    } finally {
      stop(process);
    }
  }

  @Test
  void badGuardSettingExitsNamingTheProperty() throws Exception {
    Process process = start(List.of("--port", "0"), List.of("-Dabortguard.reset.grace=soon"));
    try {
      assertEquals(2, awaitExit(process));
      String stderr = stderr();
      assertTrue(stderr.contains("abortguard.reset.grace"), stderr);
    } finally {
      stop(process);
    }
  }

  /**
   * SIGTERM with a stream held open by a peer that never closes it (under {@code never}): the
   * shutdown hook waits its grace, cancels, and says so on stderr (java.util.logging has shut
   * down by then, so it must not be the channel).
   */
  @Test
  void shutdownHookReportsWhatItCancelled() throws Exception {
    String stderr = sigtermWithPassivePeer(List.of(), PassivePeer::openAbortedCall).stderr();
    assertTrue(stderr.contains("sample-server: shutdown: calls still running after 5s (1 of them lingering"),
        stderr);
    assertTrue(stderr.contains("cancelled them with shutdownNow()"), stderr);
  }

  /**
   * The same on the okhttp transport. grpc-okhttp does not count a lingering stream as a call, so
   * that alone does not hold its shutdown up (see the next test); a running call (the Bidi echo,
   * still open) does: the hook waits its grace, cancels it, and says so, counting the stream that
   * still lingers beside it (under {@code never} the shutdown's GOAWAY does not release it).
   */
  @Test
  void okHttpShutdownHookReportsWhatItCancelled() throws Exception {
    String stderr = sigtermWithPassivePeer(List.of("--transport", "okhttp"), peer -> {
      PassivePeer.openAbortedCall(peer); // lingers under never
      PassivePeer.openCall(peer, 3, false);
      PassivePeer.sendEmptyMessage(peer, 3);
      PassivePeer.Frame echoed;
      do {
        echoed = PassivePeer.read(peer);
      } while (echoed.type != 0x0 || echoed.stream != 3); // the echo's DATA: the call is running
    }).stderr();
    assertTrue(stderr.contains("sample-server: shutdown: calls still running after 5s (1 of them lingering"),
        stderr);
    assertTrue(stderr.contains("cancelled them with shutdownNow()"), stderr);
  }

  /** On okhttp a stream lingering under {@code never}, with no call running, lets the server stop at once. */
  @Test
  void okHttpShutdownIsNotHeldUpByALingeringStream() throws Exception {
    Stopped stopped = sigtermWithPassivePeer(List.of("--transport", "okhttp"), PassivePeer::openAbortedCall);
    // Had the server waited for the stream, its shutdown hook would have run out its grace and said so.
    assertFalse(stopped.stderr().contains("calls still running"),
        "exited " + stopped.exitTook() + " after SIGTERM; stderr:\n" + stopped.stderr());
  }

  /** What a passive peer does on its connection before the server gets SIGTERM. */
  private interface PeerAction {
    void run(java.net.Socket peer) throws IOException;
  }

  /** A server stopped by SIGTERM: what it wrote on stderr, and how long it took to exit. */
  private record Stopped(String stderr, Duration exitTook) {}

  /**
   * Starts the jar under {@code never} with {@code args}, lets a passive peer do {@code before},
   * sends SIGTERM with the peer still connected and waits for the server to exit.
   */
  private Stopped sigtermWithPassivePeer(List<String> args, PeerAction before) throws Exception {
    List<String> command = new ArrayList<>(List.of("--port", "0"));
    command.addAll(args);
    Process process = start(command, List.of("-Dabortguard.reset=never"));
    try (java.net.Socket peer = new java.net.Socket()) {
      Matcher startup = awaitStartupLine(process, lines(process));
      peer.connect(new java.net.InetSocketAddress("127.0.0.1", Integer.parseInt(startup.group(1))), 5000);
      peer.setSoTimeout(5000);
      before.run(peer);
      long sigterm = System.nanoTime();
      process.destroy();
      assertTrue(process.waitFor(EXIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS),
          "server did not exit within " + EXIT_TIMEOUT + " of SIGTERM; stderr:\n" + stderr());
      return new Stopped(stderr(), Duration.ofNanos(System.nanoTime() - sigterm));
    } finally {
      stop(process);
    }
  }

  /**
   * The frame-codec server answers a stream error (REFUSED_STREAM past its stream limit) on that
   * stream only: the connection stays up and answers PING.
   */
  @Test
  void frameCodecServerKeepsTheConnectionOnAStreamError() throws Exception {
    Process process = start(List.of("--port", "0", "--transport", "frame-codec", "--max-concurrent-streams", "1"),
        List.of("-Dabortguard.reset=never"));
    try (java.net.Socket peer = new java.net.Socket()) {
      Matcher startup = awaitStartupLine(process, lines(process));
      peer.connect(new java.net.InetSocketAddress("127.0.0.1", Integer.parseInt(startup.group(1))), 5000);
      peer.setSoTimeout(5000);
      PassivePeer.openAbortedCall(peer); // lingers under never, holding the one slot
      PassivePeer.openCall(peer, 3);
      PassivePeer.Frame refused;
      do {
        refused = PassivePeer.read(peer);
      } while (refused.type != 0x3);
      assertEquals(3, refused.stream);
      assertEquals(0x7, refused.firstWord, "REFUSED_STREAM");
      PassivePeer.ping(peer);
      PassivePeer.Frame next;
      do {
        next = PassivePeer.read(peer); // EOF here if the server closed the connection
      } while (next.type != 0x6);
      assertEquals(0x1, next.flags, "PING ACK on the same connection");
    } finally {
      stop(process);
    }
  }

  private Process start(List<String> args, List<String> jvmOptions) throws IOException {
    Path jar = Path.of(System.getProperty("sample-server.jar", "target/sample-server.jar"));
    assertTrue(Files.isRegularFile(jar), jar + " is missing: run `mvn package` first");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    command.add("-jar");
    command.add(jar.toString());
    command.addAll(args);
    return new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.PIPE)
        .redirectError(tempDir.resolve("stderr.txt").toFile())
        .start();
  }

  /** The process's stdout, line by line, ending with {@link #EOF}. */
  private static BlockingQueue<String> lines(Process process) {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
          lines.add(line);
        }
      } catch (IOException e) {
        // the process is gone; EOF below says so
      } finally {
        lines.add(EOF);
      }
    }, "sample-server-stdout");
    reader.setDaemon(true);
    reader.start();
    return lines;
  }

  private Matcher awaitStartupLine(Process process, BlockingQueue<String> stdout) throws Exception {
    long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
    List<String> seen = new ArrayList<>();
    while (true) {
      String line = stdout.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
      if (line == null || line == EOF) {
        fail((line == null ? "no start-up line within " + STARTUP_TIMEOUT : "server exited: " + process.waitFor())
            + "\nstdout: " + seen + "\nstderr:\n" + stderr());
      }
      Matcher matcher = STARTUP_LINE.matcher(line);
      if (matcher.matches()) {
        return matcher;
      }
      seen.add(line);
    }
  }

  private int awaitExit(Process process) throws Exception {
    if (!process.waitFor(STARTUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
      fail("process did not exit within " + STARTUP_TIMEOUT + "; stderr:\n" + stderr());
    }
    return process.exitValue();
  }

  private String stderr() throws IOException {
    Path file = tempDir.resolve("stderr.txt");
    return Files.exists(file) ? Files.readString(file) : "";
  }

  /** Kills exactly this process if it is still running, and waits for it. */
  private static void stop(Process process) throws InterruptedException {
    if (process.isAlive()) {
      process.destroyForcibly();
      if (!process.waitFor(EXIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        fail("process " + process.pid() + " survived destroyForcibly");
      }
    }
  }
}
