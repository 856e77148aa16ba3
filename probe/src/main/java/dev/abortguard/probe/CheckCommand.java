package dev.abortguard.probe;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code check}: connects to the target, makes the calls one after the other on one connection,
 * and prints the report (a table, or JSON with {@code --json}), and with {@code --html} also writes
 * it as a page. Returns the verdict's exit status.
 */
final class CheckCommand {
  private CheckCommand() {}

  static int run(CheckOptions options, PrintStream out, PrintStream err) throws InterruptedException {
    Instant checkedAt = Instant.now();
    CheckReport report = check(options, new CheckProgress(err, System::nanoTime));
    boolean error = report.verdict() == Verdict.ERROR;
    if (options.json()) {
      out.println(ReportJson.render(report));
    } else if (!error || !report.calls().isEmpty()) {
      out.print(ReportTable.render(report));
    }
    out.flush();
    // Say what to fix on stderr too, unless the table already said it there on stdout.
    if (error && (options.json() || report.calls().isEmpty())) {
      err.println("abortguard-probe: " + report.message());
    }
    if (options.html() != null) {
      String problem = writeHtml(options.html(), ReportHtml.render(report, checkedAt));
      if (problem != null) {
        err.println("abortguard-probe: " + problem);
        return Verdict.ERROR.exitCode();
      }
      err.println("abortguard-probe: HTML report written to " + options.html());
    }
    return report.verdict().exitCode();
  }

  /** Makes the calls; never throws for trouble at the target, which ends up in the report instead. */
  static CheckReport check(CheckOptions options) throws InterruptedException {
    return check(options, CheckProgress.NONE);
  }

  static CheckReport check(CheckOptions options, CheckProgress progress) throws InterruptedException {
    List<CallRecord> calls = new ArrayList<>();
    ProbeClient client;
    try {
      client = ProbeClient.connect(options);
    } catch (ProbeFailure e) {
      return new CheckReport(options, calls, e.getMessage());
    }
    progress.connected();
    try (client) {
      for (int number = 1; number <= options.calls(); number++) {
        CallRecord call = client.call(number);
        calls.add(call);
        progress.callDone(call, options.calls());
        String problem = ConnectionTrouble.explainCall(call, options);
        if (problem != null) {
          return new CheckReport(options, calls, problem);
        }
      }
      return new CheckReport(options, calls, null);
    } catch (ProbeFailure e) {
      return new CheckReport(options, calls, e.getMessage());
    }
  }

  /**
   * Writes the page beside its final name and moves it there, so a browser reloading the file never
   * shows half a report. Returns null, or what went wrong.
   */
  private static String writeHtml(Path file, String page) {
    Path part = file.resolveSibling(file.getFileName() + ".part");
    try {
      Files.write(part, page.getBytes(StandardCharsets.UTF_8));
      Files.move(part, file, StandardCopyOption.REPLACE_EXISTING);
      return null;
    } catch (IOException e) {
      try {
        Files.deleteIfExists(part);
      } catch (IOException ignored) {
        // The write already failed; that is the error to report.
      }
      return "cannot write the HTML report to " + file + ": " + e;
    }
  }
}
