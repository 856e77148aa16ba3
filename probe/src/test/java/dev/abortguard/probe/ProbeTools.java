package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The jars the integration tests start as processes: the probe's fat jar and the sample server's.
 * Ports, waits, stops and HAProxy come from the sample server's test harness ({@code E2eTools},
 * {@code HaproxyProcess}).
 */
final class ProbeTools {
  /** Every JVM the tests start runs Netty's leak detector at its strictest. */
  static final String PARANOID = "-Dio.netty.leakDetection.level=paranoid";

  private ProbeTools() {}

  static Path java() {
    return Path.of(System.getProperty("java.home"), "bin", "java");
  }

  /** The fat jar {@code package} builds; failsafe runs after it. */
  static Path probeJar() {
    Path jar = Path.of(System.getProperty("probe.jar", "target/abortguard-probe.jar"));
    if (!Files.isRegularFile(jar)) {
      fail(jar.toAbsolutePath() + " is missing: run `./mvnw -pl probe package` first");
    }
    return jar;
  }

  /** The sample server's fat jar, built by the sample-server module (listed before this one). */
  static Path sampleServerJar() {
    Path jar = Path.of(System.getProperty("sample-server.jar", "../sample-server/target/sample-server.jar"));
    if (!Files.isRegularFile(jar)) {
      fail(jar.toAbsolutePath() + " is missing: build it with"
          + " `./mvnw -B -pl sample-server -am package -DskipTests`, or run the whole build");
    }
    return jar;
  }
}
