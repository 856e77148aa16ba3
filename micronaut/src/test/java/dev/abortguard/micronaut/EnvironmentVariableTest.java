package dev.abortguard.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code abortguard.*} from environment variables, in a child JVM (a test cannot set its own
 * environment): {@code ABORTGUARD_RESET_GRACE=250ms} reaches the guard, and a bad {@code
 * ABORTGUARD_RESET} stops the application naming {@code abortguard.reset} and the environment.
 */
class EnvironmentVariableTest {
  @TempDir Path dir;

  @Test
  void goodValueFromTheEnvironmentReachesTheGuard() throws Exception {
    Run run = run(Map.of("ABORTGUARD_RESET_GRACE", "250ms", "ABORTGUARD_LINGERING_MAX_TOTAL", "5"));
    assertEquals(0, run.exit, run.output);
    assertTrue(run.output.contains("GUARD grace=250ms maxTotal=5"), run.output);
  }

  @Test
  void badValueFromTheEnvironmentStopsTheApplication() throws Exception {
    Run run = run(Map.of("ABORTGUARD_RESET", "sometimes"));
    assertNotEquals(0, run.exit, run.output);
    assertTrue(run.output.contains("Invalid value 'sometimes' for abortguard.reset (set in env): expected one of"),
        run.output);
  }

  private record Run(int exit, String output) {}

  private Run run(Map<String, String> environment) throws IOException, InterruptedException {
    Path out = dir.resolve("out.txt");
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    ProcessBuilder builder = new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
        EnvironmentMain.class.getName()))
        .redirectErrorStream(true)
        .redirectOutput(out.toFile());
    builder.environment().putAll(environment);
    Process process = builder.start();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      throw new AssertionError("the child JVM did not finish in 60 s:\n" + Files.readString(out));
    }
    return new Run(process.exitValue(), Files.readString(out));
  }
}
