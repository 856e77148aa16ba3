package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.abortguard.sample.e2e.E2eTools;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;

/**
 * Debian's {@code chromium}, headless, to render a page the way an operator's browser would: a
 * screenshot, and the DOM after parsing ({@code --dump-dom}). Each run gets its own profile under
 * {@code target/}, its wait is bounded, and on timeout only that process and the helpers it
 * started are killed, by PID.
 */
final class HeadlessChromium {
  static final String INSTALL_HINT = "apt-get install chromium";
  /** A page of ours renders in about a second; a run still going after this has hung. */
  static final Duration RUN_LIMIT = Duration.ofSeconds(60);
  private static final AtomicInteger RUNS = new AtomicInteger();

  private final Path executable;
  private final Path workDir;

  private HeadlessChromium(Path executable, Path workDir) {
    this.executable = executable;
    this.workDir = workDir;
  }

  /**
   * Chromium, with its profiles and output under {@code target/chromium}; skips the calling test
   * when it is missing, or fails it when {@code CI=true}, where every tool must be there.
   */
  static HeadlessChromium require() throws IOException {
    Path found = find();
    if (found == null) {
      String message = "the HTML report test needs chromium (not on PATH or /usr/bin): " + INSTALL_HINT;
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail(message + " (CI=true: failing instead of skipping)");
      }
      Assumptions.abort(message);
    }
    Path dir = Path.of(System.getProperty("basedir", "."), "target", "chromium").toAbsolutePath();
    Files.createDirectories(dir);
    return new HeadlessChromium(found, dir);
  }

  private static Path find() {
    List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
    dirs.add("/usr/bin");
    for (String name : List.of("chromium", "chromium-browser")) {
      for (String dir : dirs) {
        if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
          return Path.of(dir, name);
        }
      }
    }
    return null;
  }

  /** Renders {@code page} at 1200x1600 into {@code png}. */
  void screenshot(Path page, Path png) throws IOException, InterruptedException {
    run(page, List.of("--screenshot=" + png.toAbsolutePath(), "--window-size=1200,1600", "--hide-scrollbars"));
    if (!Files.isRegularFile(png)) {
      fail("chromium exited 0 but wrote no " + png);
    }
  }

  /** The DOM chromium built from {@code page}, serialized. */
  String dumpDom(Path page) throws IOException, InterruptedException {
    return run(page, List.of("--dump-dom"));
  }

  /** Runs chromium on {@code page}, bounded; returns its stdout, fails with its stderr. */
  private String run(Path page, List<String> flags) throws IOException, InterruptedException {
    int n = RUNS.incrementAndGet();
    Path profile = workDir.resolve("profile-" + ProcessHandle.current().pid() + "-" + n);
    Path out = workDir.resolve("run-" + n + ".out");
    Path err = workDir.resolve("run-" + n + ".err");
    List<String> command = new ArrayList<>(List.of(executable.toString(), "--headless", "--no-sandbox",
        "--disable-gpu", "--user-data-dir=" + profile, "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-extensions"));
    command.addAll(flags);
    command.add(page.toAbsolutePath().toUri().toString());
    Process process = new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectOutput(out.toFile())
        .redirectError(err.toFile())
        .start();
    if (!process.waitFor(RUN_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
      stop(process);
      fail("chromium " + flags + " still running after " + RUN_LIMIT + "; stderr:\n" + E2eTools.readQuietly(err));
    }
    assertEquals(0, process.exitValue(), () -> "chromium " + flags + " failed; stderr:\n" + E2eTools.readQuietly(err));
    return E2eTools.readQuietly(out);
  }

  /** Chromium's renderer and GPU helpers are its children: end them with it, by their PIDs. */
  private static void stop(Process process) {
    List<ProcessHandle> helpers = new ArrayList<>();
    process.descendants().forEach(helpers::add);
    E2eTools.stop(process, Duration.ofSeconds(5));
    for (ProcessHandle helper : helpers) {
      helper.destroyForcibly();
    }
  }
}
