package dev.abortguard.probe;

/** What {@code check} concluded, with its exit status and its name in the JSON report. */
enum Verdict {
  /** Every status arrived and nothing but RST_STREAM(NO_ERROR), if anything, followed it. */
  KEEPS_STATUSES(0, "keeps_statuses", "KEEPS STATUSES"),
  /** A reset other than NO_ERROR followed a status, or came instead of one. */
  LOSES_STATUSES(1, "loses_statuses", "LOSES STATUSES for C-core clients"),
  /** No verdict: the target was unreachable, not HTTP/2 or gRPC, or did not reject the calls at once. */
  ERROR(2, "error", "ERROR");

  private final int exitCode;
  private final String jsonName;
  private final String title;

  Verdict(int exitCode, String jsonName, String title) {
    this.exitCode = exitCode;
    this.jsonName = jsonName;
    this.title = title;
  }

  int exitCode() {
    return exitCode;
  }

  String jsonName() {
    return jsonName;
  }

  /** How the table names it. */
  String title() {
    return title;
  }
}
