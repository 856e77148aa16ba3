package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckOptionsTest {
  @Test
  void defaults() throws Exception {
    CheckOptions options = CheckOptions.parse(List.of("127.0.0.1:8080"));
    assertEquals("127.0.0.1", options.target().host());
    assertEquals(8080, options.target().port());
    assertFalse(options.tls());
    assertEquals("127.0.0.1:8080", options.authority());
    assertEquals("/abortguard.probe.v1.Probe/NoSuchMethod", options.path());
    assertEquals(List.of(), options.headers());
    assertEquals(10, options.calls());
    assertEquals(100, options.waitMillis());
    assertEquals(5000, options.timeoutMillis());
    assertFalse(options.json());
    assertEquals(null, options.html());
  }

  @Test
  void htmlFileIsCheckedBeforeAnyCall(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("report.html");
    assertEquals(file.toAbsolutePath(), CheckOptions.parse(List.of("h:1", "--html", file.toString())).html());
    assertMessage("--html: the directory of", List.of("h:1", "--html", dir.resolve("nope/report.html").toString()));
    assertMessage("is a directory; name the file to write", List.of("h:1", "--html", dir.toString()));
    assertMessage("--html needs a value", List.of("h:1", "--html"));
    assertMessage("--html: give the file to write", List.of("h:1", "--html", " "));
  }

  @Test
  void everyOption() throws Exception {
    CheckOptions options = CheckOptions.parse(List.of("--tls", "[::1]:443", "--insecure", "--authority=api.example",
        "--path", "/pkg.Svc/Do", "--header", "Authorization=Bearer a=b", "--header", "x-tenant=7",
        "--calls", "3", "--wait", "1s", "--timeout", "250ms", "--json"));
    assertEquals("::1", options.target().host());
    assertEquals("[::1]:443", options.target().toString());
    assertTrue(options.tls() && options.insecure() && options.json());
    assertEquals("api.example", options.authority());
    assertEquals("/pkg.Svc/Do", options.path());
    assertEquals(List.of(Map.entry("authorization", "Bearer a=b"), Map.entry("x-tenant", "7")), options.headers());
    assertEquals(3, options.calls());
    assertEquals(1000, options.waitMillis());
    assertEquals(250, options.timeoutMillis());
  }

  @Test
  void mistakesSayWhatIsWrong() {
    assertMessage("check needs a TARGET", List.of());
    assertMessage("TARGET must be host:port", List.of("localhost"));
    assertMessage("without a scheme", List.of("https://example.com:443"));
    assertMessage("brackets", List.of("::1:443"));
    assertMessage("not a port number", List.of("host:99999"));
    assertMessage("unknown option '--proxy'", List.of("h:1", "--proxy", "x"));
    assertMessage("--calls given more than once", List.of("h:1", "--calls", "1", "--calls", "2"));
    assertMessage("--calls: 'many' is not a whole number from 1 to 100", List.of("h:1", "--calls", "many"));
    assertMessage("--calls needs a value", List.of("h:1", "--calls"));
    assertMessage("--wait: '100' is not a duration", List.of("h:1", "--wait", "100"));
    assertMessage("--insecure only applies with --tls", List.of("h:1", "--insecure"));
    assertMessage("--tls takes no value", List.of("h:1", "--tls=yes"));
    assertMessage("is not a gRPC method path", List.of("h:1", "--path", "/nope"));
    assertMessage("is not name=value", List.of("h:1", "--header", "novalue"));
    assertMessage("the probe sets 'content-type' itself", List.of("h:1", "--header", "content-type=x"));
    assertMessage("check takes one TARGET", List.of("h:1", "h:2"));
  }

  private static void assertMessage(String expected, List<String> args) {
    UsageException e = assertThrows(UsageException.class, () -> CheckOptions.parse(args));
    assertTrue(e.getMessage().contains(expected), () -> args + ": " + e.getMessage());
  }
}
