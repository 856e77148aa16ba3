package dev.abortguard.probe;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code check}: connects to the target, makes the calls one after the other on one connection,
 * and prints the report (a table, or JSON with {@code --json}). Returns the verdict's exit status.
 */
final class CheckCommand {
  private CheckCommand() {}

  static int run(CheckOptions options, PrintStream out, PrintStream err) throws InterruptedException {
    CheckReport report = check(options);
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
    return report.verdict().exitCode();
  }

  /** Makes the calls; never throws for trouble at the target, which ends up in the report instead. */
  static CheckReport check(CheckOptions options) throws InterruptedException {
    List<CallRecord> calls = new ArrayList<>();
    ProbeClient client;
    try {
      client = ProbeClient.connect(options);
    } catch (ProbeFailure e) {
      return new CheckReport(options, calls, e.getMessage());
    }
    try (client) {
      for (int number = 1; number <= options.calls(); number++) {
        CallRecord call = client.call(number);
        calls.add(call);
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
}
