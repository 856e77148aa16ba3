package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.PooledByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link CheckCommand#check} against a {@link ReferenceServer} in the same JVM, over real loopback
 * sockets: the verdict for each behaviour, fast, and under the leak detector surefire runs at
 * paranoid (its reports are caught from Netty's log and fail the class).
 */
class InProcessCheckTest {
  private static final List<String> LEAK_REPORTS = new CopyOnWriteArrayList<>();
  private static final Logger LEAK_LOGGER = Logger.getLogger("io.netty.util.ResourceLeakDetector");
  private static final Handler LEAK_RECORDER = new Handler() {
    @Override
    public void publish(LogRecord record) {
      if (record.getMessage() != null && record.getMessage().contains("LEAK")) {
        LEAK_REPORTS.add(record.getMessage());
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  };

  @BeforeAll
  static void recordLeaks() {
    LEAK_LOGGER.addHandler(LEAK_RECORDER);
  }

  @AfterAll
  static void noLeaks() throws InterruptedException {
    try {
      // Netty reports a leak when it tracks a new buffer after the leaked one was collected.
      for (int i = 0; i < 3; i++) {
        ReferenceQueue<Object> collected = new ReferenceQueue<>();
        WeakReference<Object> sentinel = new WeakReference<>(new Object(), collected);
        System.gc();
        collected.remove(1000); // bounded wait for the collector to have run
        sentinel.clear();
        for (int j = 0; j < 16; j++) {
          PooledByteBufAllocator.DEFAULT.directBuffer(16).release();
          PooledByteBufAllocator.DEFAULT.heapBuffer(16).release();
        }
      }
      assertEquals(List.of(), LEAK_REPORTS);
    } finally {
      LEAK_LOGGER.removeHandler(LEAK_RECORDER);
    }
  }

  @Test
  void ccoreKeepsStatusesWithNoErrorInTheSameRead() throws Exception {
    CheckReport report = check(Behaviour.CCORE);
    assertEquals(Verdict.KEEPS_STATUSES, report.verdict(), report.message());
    for (CallRecord call : report.calls()) {
      assertEquals(7, call.grpcStatus());
      assertEquals(0L, call.resetCode());
      assertTrue(call.resetInSameRead(), "trailers and reset left in one flush");
    }
  }

  @Test
  void nettyLosesStatusesWithCancel() throws Exception {
    CheckReport report = check(Behaviour.NETTY);
    assertEquals(Verdict.LOSES_STATUSES, report.verdict(), report.message());
    for (CallRecord call : report.calls()) {
      assertEquals(7, call.grpcStatus());
      assertEquals(8L, call.resetCode());
    }
  }

  @Test
  void grpcJavaKeepsStatusesAndTheProbeEndsTheStream() throws Exception {
    CheckReport report = check(Behaviour.GRPC_JAVA);
    assertEquals(Verdict.KEEPS_STATUSES, report.verdict(), report.message());
    for (CallRecord call : report.calls()) {
      assertEquals(null, call.resetCode());
      FrameRecord last = call.frames().get(call.frames().size() - 1);
      assertEquals(FrameRecord.Direction.SENT, last.direction());
      assertTrue(last.endStream());
    }
  }

  @Test
  void runWritesTheHtmlPageBesideTheTable(@TempDir Path dir) throws Exception {
    Path page = dir.resolve("report.html");
    Output output = new Output();
    ReferenceServer server = ReferenceServer.start("127.0.0.1", 0, null, Behaviour.NETTY);
    int exit;
    try {
      exit = CheckCommand.run(options(server, "--html", page.toString()), output.outStream, output.errStream);
    } finally {
      server.stop();
    }
    assertEquals(1, exit, output::toString);
    String html = Files.readString(page, StandardCharsets.UTF_8);
    assertTrue(html.contains("<h2>verdict: LOSES STATUSES for C-core clients (exit 1)</h2>"), html);
    assertTrue(html.contains("<td class=\"type\">RST_STREAM(CANCEL)</td>"), html);
    assertTrue(output.out().contains("verdict: LOSES STATUSES for C-core clients (exit 1)"), output::toString);
    assertEquals("abortguard-probe: HTML report written to " + page.toAbsolutePath() + System.lineSeparator(),
        output.err(), output::toString);
    assertFalse(Files.exists(dir.resolve("report.html.part")));
  }

  @Test
  void aPageThatCannotBeWrittenIsAnError(@TempDir Path dir) throws Exception {
    Path page = dir.resolve("report.html");
    Output output = new Output();
    ReferenceServer server = ReferenceServer.start("127.0.0.1", 0, null, Behaviour.GRPC_JAVA);
    int exit;
    try {
      CheckOptions options = options(server, "--html", page.toString());
      // Valid when parsed; by the time the page is written a non-empty directory holds the name.
      Files.createDirectories(page.resolve("in-the-way"));
      exit = CheckCommand.run(options, output.outStream, output.errStream);
    } finally {
      server.stop();
    }
    assertEquals(2, exit, output::toString);
    assertTrue(output.err().startsWith("abortguard-probe: cannot write the HTML report to " + page.toAbsolutePath()),
        output::toString);
    assertFalse(Files.exists(dir.resolve("report.html.part")), output::toString);
  }

  /** Two quick calls to {@code server}, and {@code more}. */
  private static CheckOptions options(ReferenceServer server, String... more) throws UsageException {
    List<String> args = new ArrayList<>(List.of("127.0.0.1:" + server.address().getPort(), "--calls", "2",
        "--wait", "50ms"));
    args.addAll(List.of(more));
    return CheckOptions.parse(args);
  }

  /** stdout and stderr of an in-process run. */
  private static final class Output {
    final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    final PrintStream outStream = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
    final PrintStream errStream = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    String out() {
      return outBytes.toString(StandardCharsets.UTF_8);
    }

    String err() {
      return errBytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return "--- stdout:\n" + out() + "--- stderr:\n" + err();
    }
  }

  private static CheckReport check(Behaviour behaviour) throws Exception {
    ReferenceServer server = ReferenceServer.start("127.0.0.1", 0, null, behaviour);
    try {
      CheckOptions options = CheckOptions.parse(List.of(
          "127.0.0.1:" + server.address().getPort(), "--calls", "3", "--wait", "50ms", "--timeout", "5s"));
      CheckReport report = CheckCommand.check(options);
      assertEquals(3, report.calls().size(), report.message());
      return report;
    } finally {
      server.stop();
    }
  }
}
