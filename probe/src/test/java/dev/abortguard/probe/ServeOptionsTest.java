package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServeOptionsTest {
  @TempDir Path dir;

  @Test
  void defaults() throws Exception {
    ServeOptions options = ServeOptions.parse(List.of("--port", "0"));
    assertEquals("127.0.0.1", options.host());
    assertEquals(0, options.port());
    assertEquals(Behaviour.CCORE, options.behaviour());
    assertFalse(options.tls());
  }

  @Test
  void everyOption() throws Exception {
    Path cert = Files.writeString(dir.resolve("c.pem"), "x");
    Path key = Files.writeString(dir.resolve("k.pem"), "x");
    ServeOptions options = ServeOptions.parse(List.of("--port=50051", "--host", "0.0.0.0", "--behaviour", "grpc-java",
        "--tls-cert", cert.toString(), "--tls-key", key.toString()));
    assertEquals(50051, options.port());
    assertEquals("0.0.0.0", options.host());
    assertEquals(Behaviour.GRPC_JAVA, options.behaviour());
    assertTrue(options.tls());
    assertEquals(cert.toFile(), options.certificate());
  }

  @Test
  void mistakesSayWhatIsWrong() {
    assertMessage("serve needs --port", List.of());
    assertMessage("--port: '-1' is not a whole number from 0 to 65535", List.of("--port", "-1"));
    assertMessage("'envoy' is not one of ccore, netty, grpc-java", List.of("--port", "0", "--behaviour", "envoy"));
    assertMessage("TLS needs both --tls-cert and --tls-key", List.of("--port", "0", "--tls-cert", "c.pem"));
    assertMessage("--tls-cert: cannot read", List.of("--port", "0", "--tls-cert", "/nonexistent/c", "--tls-key", "k"));
    assertMessage("takes no arguments", List.of("--port", "0", "extra"));
  }

  private static void assertMessage(String expected, List<String> args) {
    UsageException e = assertThrows(UsageException.class, () -> ServeOptions.parse(args));
    assertTrue(e.getMessage().contains(expected), () -> args + ": " + e.getMessage());
  }
}
