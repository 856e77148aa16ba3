package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * A bad {@code abortguard.*} value fails startup with Spring Boot's invalid-property report: the
 * property, the value, where it was set, and what abortguard allows.
 */
@ExtendWith(OutputCaptureExtension.class)
class InvalidPropertyTest {
  @Test
  void badPolicyFailsStartupNamingPropertyValueAndChoices(CapturedOutput output) {
    InvalidConfigurationPropertyValueException e = startupFailure("--abortguard.reset=sometimes");
    assertEquals("abortguard.reset", e.getName());
    assertEquals("sometimes", e.getValue());
    assertEquals("Expected one of deferred, never, immediate.", e.getReason());
    assertReport(output, "Invalid value 'sometimes' for configuration property 'abortguard.reset'",
        "Expected one of deferred, never, immediate.");
  }

  @Test
  void badGraceInYamlIsReportedWithItsOrigin(CapturedOutput output) {
    InvalidConfigurationPropertyValueException e =
        startupFailure("--spring.config.location=classpath:/bad-grace.yml");
    assertEquals("abortguard.reset.grace", e.getName());
    assertEquals("10", e.getValue());
    assertEquals("Expected a duration from 1ms to 24h, such as 250ms, 10s, 1m or 1h.", e.getReason());
    assertReport(output, "Invalid value '10' for configuration property 'abortguard.reset.grace' "
        + "(originating from 'class path resource [bad-grace.yml] - 2:16')");
  }

  @Test
  void camelCaseNameIsReportedAsWritten(CapturedOutput output) {
    InvalidConfigurationPropertyValueException e = startupFailure("--abortguard.lingering.maxTotal=0");
    assertEquals("abortguard.lingering.maxTotal", e.getName());
    assertEquals("0", e.getValue());
    assertEquals("Expected a whole number from 1 to 2147483647.", e.getReason());
    assertReport(output, "Invalid value '0' for configuration property 'abortguard.lingering.maxTotal'");
  }

  private static InvalidConfigurationPropertyValueException startupFailure(String... args) {
    Throwable failure = assertThrows(Throwable.class, () -> BootApp.start(args).close());
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof InvalidConfigurationPropertyValueException invalid) {
        return invalid;
      }
    }
    throw new AssertionError("startup failed, but not for an invalid property", failure);
  }

  private static void assertReport(CapturedOutput output, String... lines) {
    String out = output.getAll();
    assertTrue(out.contains("APPLICATION FAILED TO START"), out);
    for (String line : lines) {
      assertTrue(out.contains(line), "'" + line + "' missing from:\n" + out);
    }
  }
}
