package dev.abortguard.probe;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** What {@code check} calls and how: parsed from its command line by {@link #parse}. */
final class CheckOptions {
  /** A method no server has, so every gRPC server rejects the call at once with UNIMPLEMENTED. */
  static final String DEFAULT_PATH = "/abortguard.probe.v1.Probe/NoSuchMethod";
  static final int DEFAULT_CALLS = 10;
  static final int MAX_CALLS = 100;
  static final long DEFAULT_WAIT_MILLIS = 100;
  static final long DEFAULT_TIMEOUT_MILLIS = 5000;

  static final String USAGE =
      "usage: java -jar abortguard-probe.jar check TARGET [--tls] [--insecure] [--authority HOST]\n"
          + "         [--path /pkg.Service/Method] [--header name=value]... [--calls N] [--wait 100ms]\n"
          + "         [--timeout 5s] [--json] [--html FILE]\n"
          + "  TARGET              host:port of the gRPC server or proxy, cleartext HTTP/2 (h2c) unless --tls\n"
          + "  --tls               connect with TLS, offering h2 by ALPN\n"
          + "  --insecure          with --tls: accept any certificate (self-signed, private CA)\n"
          + "  --authority HOST    :authority and TLS server name (default: TARGET)\n"
          + "  --path PATH         the method to call (default " + DEFAULT_PATH + ",\n"
          + "                      which every gRPC server rejects at once with UNIMPLEMENTED)\n"
          + "  --header name=value request metadata, e.g. to make --path fail an auth check; repeatable\n"
          + "  --calls N           calls to make, one after the other, 1 to " + MAX_CALLS + " (default "
          + DEFAULT_CALLS + ")\n"
          + "  --wait DURATION     how long to watch each stream after its status (default "
          + DEFAULT_WAIT_MILLIS + "ms)\n"
          + "  --timeout DURATION  bound on connecting and on each answer (default "
          + CommandLine.formatMillis(DEFAULT_TIMEOUT_MILLIS) + ")\n"
          + "  --json              print the report as JSON\n"
          + "  --html FILE         also write the report as one self-contained HTML page to FILE\n"
          + "exit status: 0 keeps statuses, 1 loses statuses for C-core clients, 2 error";

  private static final Set<String> VALUE_OPTIONS =
      Set.of("--authority", "--path", "--header", "--calls", "--wait", "--timeout", "--html");
  private static final Set<String> SWITCHES = Set.of("--tls", "--insecure", "--json");
  /** Request headers the probe sets itself; metadata may not replace them. */
  private static final Set<String> RESERVED_HEADERS = Set.of("content-type", "te", "connection", "host");

  private final Target target;
  private final boolean tls;
  private final boolean insecure;
  private final String authority;
  private final String path;
  private final List<Map.Entry<String, String>> headers;
  private final int calls;
  private final long waitMillis;
  private final long timeoutMillis;
  private final boolean json;
  private final Path html;

  private CheckOptions(Target target, boolean tls, boolean insecure, String authority, String path,
      List<Map.Entry<String, String>> headers, int calls, long waitMillis, long timeoutMillis, boolean json,
      Path html) {
    this.target = target;
    this.tls = tls;
    this.insecure = insecure;
    this.authority = authority;
    this.path = path;
    this.headers = headers;
    this.calls = calls;
    this.waitMillis = waitMillis;
    this.timeoutMillis = timeoutMillis;
    this.json = json;
    this.html = html;
  }

  /** Parses the arguments after {@code check}. */
  static CheckOptions parse(List<String> args) throws UsageException {
    CommandLine line = CommandLine.parse("check", args, VALUE_OPTIONS, SWITCHES, Set.of("--header"));
    if (line.positionals().isEmpty()) {
      throw new UsageException("check needs a TARGET (host:port)");
    }
    if (line.positionals().size() > 1) {
      throw new UsageException("check takes one TARGET, got " + line.positionals());
    }
    Target target = Target.parse(line.positionals().get(0));
    boolean tls = line.has("--tls");
    boolean insecure = line.has("--insecure");
    if (insecure && !tls) {
      throw new UsageException("--insecure only applies with --tls");
    }
    String authority = line.value("--authority");
    if (authority != null && (authority.trim().isEmpty() || authority.contains("/"))) {
      throw new UsageException("--authority: '" + authority + "' is not a host or host:port");
    }
    String path = line.value("--path");
    if (path == null) {
      path = DEFAULT_PATH;
    } else if (!path.matches("/[^/\\s]+/[^/\\s]+")) {
      throw new UsageException("--path: '" + path + "' is not a gRPC method path like /pkg.Service/Method");
    }
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    for (String header : line.values("--header")) {
      headers.add(parseHeader(header));
    }
    return new CheckOptions(target, tls, insecure, authority == null ? target.toString() : authority.trim(), path,
        Collections.unmodifiableList(headers),
        line.intValue("--calls", DEFAULT_CALLS, 1, MAX_CALLS),
        line.durationMillis("--wait", DEFAULT_WAIT_MILLIS, 0, 10_000),
        line.durationMillis("--timeout", DEFAULT_TIMEOUT_MILLIS, 100, 60_000),
        line.has("--json"),
        htmlFile(line.value("--html")));
  }

  /** Checked before any call is made, so a typo in the path does not cost the operator a whole check. */
  private static Path htmlFile(String text) throws UsageException {
    if (text == null) {
      return null;
    }
    if (text.trim().isEmpty()) {
      throw new UsageException("--html: give the file to write, e.g. --html report.html");
    }
    Path file;
    try {
      file = Path.of(text).toAbsolutePath().normalize();
    } catch (InvalidPathException e) {
      throw new UsageException("--html: '" + text + "' is not a file name: " + e.getReason());
    }
    if (Files.isDirectory(file)) {
      throw new UsageException("--html: '" + text + "' is a directory; name the file to write, e.g. "
          + file.resolve("report.html"));
    }
    Path dir = file.getParent();
    if (dir == null || !Files.isDirectory(dir)) {
      throw new UsageException("--html: the directory of '" + text + "' (" + dir + ") does not exist");
    }
    if (!Files.isWritable(dir)) {
      throw new UsageException("--html: cannot write into " + dir);
    }
    return file;
  }

  private static Map.Entry<String, String> parseHeader(String text) throws UsageException {
    int eq = text.indexOf('=');
    if (eq <= 0) {
      throw new UsageException("--header: '" + text + "' is not name=value");
    }
    String name = text.substring(0, eq).trim().toLowerCase(Locale.ROOT);
    String value = text.substring(eq + 1);
    if (!name.matches("[a-z0-9_.-]+")) {
      throw new UsageException("--header: '" + name + "' is not a metadata name (letters, digits, '-', '_', '.')");
    }
    if (RESERVED_HEADERS.contains(name)) {
      throw new UsageException("--header: the probe sets '" + name + "' itself");
    }
    if (!name.endsWith("-bin") && !value.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
      throw new UsageException("--header: the value of '" + name + "' must be printable ASCII");
    }
    return Map.entry(name, value);
  }

  Target target() {
    return target;
  }

  boolean tls() {
    return tls;
  }

  boolean insecure() {
    return insecure;
  }

  /** The request's {@code :authority}; its host is also the TLS server name. */
  String authority() {
    return authority;
  }

  String path() {
    return path;
  }

  /** Request metadata, lower-case names, in the order given. */
  List<Map.Entry<String, String>> headers() {
    return headers;
  }

  int calls() {
    return calls;
  }

  /** How long each stream is watched after its status arrived. */
  long waitMillis() {
    return waitMillis;
  }

  /** Bound on connecting, on the TLS handshake, on the server's SETTINGS and on each call's answer. */
  long timeoutMillis() {
    return timeoutMillis;
  }

  boolean json() {
    return json;
  }

  /** Where to write the HTML report (absolute), or null for none. */
  Path html() {
    return html;
  }
}
