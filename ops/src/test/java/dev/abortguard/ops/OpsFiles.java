package dev.abortguard.ops;

import static org.junit.jupiter.api.Assertions.fail;

import dev.abortguard.sample.e2e.E2eTools;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where the files this module ships live, and the Prometheus tools that check them. */
final class OpsFiles {
  static final String PROMETHEUS_HINT = "apt-get install prometheus (Debian's package has promtool too)";

  private OpsFiles() {}

  /** The module's directory; Maven passes it, an IDE run from the module directory needs none. */
  static Path dir() {
    return Path.of(System.getProperty("abortguard.ops.dir", ".")).toAbsolutePath().normalize();
  }

  static Path rules() {
    return existing(dir().resolve("prometheus/abortguard-rules.yml"));
  }

  static Path rulesTests() {
    return existing(dir().resolve("prometheus/tests/abortguard-rules.test.yml"));
  }

  static Path dashboard() {
    return existing(dir().resolve("grafana/abortguard.json"));
  }

  /** promtool; skips the test (fails it under CI=true) when it is missing. */
  static Path promtool() {
    return E2eTools.requireExecutable("promtool", "the Prometheus rules tests", PROMETHEUS_HINT);
  }

  /** prometheus; skips the test (fails it under CI=true) when it is missing. */
  static Path prometheus() {
    return E2eTools.requireExecutable("prometheus", "the Prometheus end-to-end tests", PROMETHEUS_HINT);
  }

  private static Path existing(Path path) {
    if (!Files.isRegularFile(path)) {
      fail(path + " is missing (abortguard.ops.dir=" + System.getProperty("abortguard.ops.dir") + ")");
    }
    return path;
  }
}
