package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.abortguard.sample.e2e.E2eTools;
import dev.abortguard.sample.e2e.HaproxyProcess;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Targets the probe cannot judge: each ends with exit 2, a message saying what to fix, and within a
 * bounded time (the default 5 s timeout plus a JVM start).
 */
class BadInputIT {
  private static final Duration BOUND = Duration.ofSeconds(15);

  @TempDir Path dir;

  @Test
  void closedPort() throws Exception {
    CheckRun run = CheckRun.check(dir, "127.0.0.1:" + E2eTools.freePort()).assertExit(2);
    assertTrue(run.stderr.contains("nothing is listening on 127.0.0.1:"), run::toString);
    assertTrue(run.stdout.isEmpty(), run::toString);
    assertBounded(run);
  }

  @Test
  void plainHttp1Server() throws Exception {
    // The JDK's own HTTP/1.1 server, on a real socket.
    HttpServer http1 = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    http1.createContext("/", exchange -> {
      byte[] body = "hello".getBytes(StandardCharsets.US_ASCII);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    http1.start();
    try {
      CheckRun run = CheckRun.check(dir, "127.0.0.1:" + http1.getAddress().getPort()).assertExit(2);
      assertTrue(run.stderr.contains("not HTTP/2"), run::toString);
      assertTrue(run.stderr.contains("HTTP/1"), run::toString);
      assertBounded(run);
    } finally {
      http1.stop(0);
    }
  }

  @Test
  void serverThatNeverAnswers() throws Exception {
    try (SilentServer silent = new SilentServer()) {
      CheckRun run = CheckRun.check(dir, "127.0.0.1:" + silent.port()).assertExit(2);
      assertTrue(run.stderr.contains("accepted the TCP connection but sent no HTTP/2 SETTINGS within 5s"),
          run::toString);
      assertTrue(run.elapsed.compareTo(Duration.ofSeconds(5)) >= 0, run::toString);
      assertBounded(run);
    }
  }

  @Test
  void proxyWithItsBackendDown() throws Exception {
    E2eTools.requireHaproxy();
    try (HaproxyProcess haproxy = HaproxyProcess.start(E2eTools.freePort(), dir)) {
      CheckRun run = CheckRun.check(dir, haproxy.target(), "--calls", "1").assertExit(2);
      String text = run.stdout.replaceAll("\\s+", " "); // the table wraps the message
      assertTrue(text.contains("without a grpc-status (HTTP 503"), run::toString);
      assertTrue(text.contains("a proxy could not reach its backend"), run::toString);
      assertBounded(run);
    }
  }

  @Test
  void jsonErrorReportKeepsTheSchema() throws Exception {
    CheckRun run = CheckRun.check(dir, "127.0.0.1:" + E2eTools.freePort(), "--json").assertExit(2);
    assertEquals("error", run.json().get("verdict"), run::toString);
    assertEquals(2L, run.json().get("exit_code"), run::toString);
    assertTrue(((String) run.json().get("message")).contains("nothing is listening"), run::toString);
    assertEquals(List.of(), run.calls(), run::toString);
    assertTrue(run.stderr.contains("nothing is listening"), run::toString);
  }

  @Test
  void usageErrorsSayWhatToWrite() throws Exception {
    CheckRun run = CheckRun.check(dir, "127.0.0.1").assertExit(2);
    assertTrue(run.stderr.contains("TARGET must be host:port"), run::toString);
    assertTrue(run.stderr.contains("usage: java -jar abortguard-probe.jar check TARGET"), run::toString);

    run = CheckRun.check(dir, "127.0.0.1:1", "--calls", "0").assertExit(2);
    assertTrue(run.stderr.contains("--calls: '0' is not a whole number from 1 to 100"), run::toString);
  }

  private static void assertBounded(CheckRun run) {
    assertTrue(run.elapsed.compareTo(BOUND) < 0, () -> "took longer than " + BOUND + ": " + run);
  }

  /** Accepts TCP connections on 127.0.0.1 and never sends a byte. */
  private static final class SilentServer implements AutoCloseable {
    private final ServerSocket socket = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
    private final List<Socket> accepted = new ArrayList<>();
    private final Thread acceptor;

    SilentServer() throws IOException {
      acceptor = new Thread(() -> {
        try {
          while (true) {
            Socket s = socket.accept();
            synchronized (accepted) {
              accepted.add(s);
            }
          }
        } catch (IOException closed) {
          // close() ends the loop
        }
      }, "silent-server");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return socket.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      socket.close();
      synchronized (accepted) {
        for (Socket s : accepted) {
          s.close();
        }
      }
      try {
        acceptor.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
