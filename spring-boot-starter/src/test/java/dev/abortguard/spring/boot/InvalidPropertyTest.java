package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuardConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * A bad {@code abortguard.*} value fails startup with Spring Boot's invalid-property report: the
 * property as the configuration metadata names it (kebab-case, however it was written), the value,
 * where it was set, and what abortguard allows, in the words of its system-property check.
 */
@ExtendWith(OutputCaptureExtension.class)
class InvalidPropertyTest {
  private static final String WHOLE_NUMBER = "Expected a whole number from 1 to 2147483647.";
  private static final String BOOLEAN = "Expected true or false.";

  /** One row per property; two of the files use the system properties' camel-case names. */
  @ParameterizedTest(name = "{0} in {1}")
  @CsvSource(delimiter = '|', textBlock = """
      abortguard.enabled             | invalid/enabled.properties             | maybe     | 2:20
      abortguard.reset               | invalid/reset.properties               | sometimes | 2:18
      abortguard.reset.grace         | invalid/reset-grace.yml                | 10        | 2:16
      abortguard.lingering.max       | invalid/lingering-max.yml              | -1        | 4:10
      abortguard.lingering.max-total | invalid/lingering-max-total.properties | 0         | 3:31
      abortguard.trailers-only       | invalid/trailers-only.yml              | sometimes | 3:17
      """)
  void badValueFailsStartupNamingThePropertyAndWhereItWasSet(String property, String file, String value,
      String position, CapturedOutput output) {
    InvalidConfigurationPropertyValueException e =
        startupFailure("--spring.config.location=classpath:/" + file);
    String reason = reasonFor(property);
    assertFailure(e, property, value, reason);
    assertReport(output, property, value, "class path resource [" + file + "] - " + position, reason);
  }

  @Test
  void camelCaseOnTheCommandLineIsReportedByItsMetadataName(CapturedOutput output) {
    InvalidConfigurationPropertyValueException e = startupFailure("--abortguard.lingering.maxTotal=0");
    assertFailure(e, "abortguard.lingering.max-total", "0", WHOLE_NUMBER);
    assertReport(output, "abortguard.lingering.max-total", "0",
        "\"abortguard.lingering.maxTotal\" from property source \"commandLineArgs\"", WHOLE_NUMBER);
  }

  @Test
  void abortguardSystemPropertyIsReportedByItsMetadataName(CapturedOutput output) {
    System.setProperty(AbortGuardConfig.TRAILERS_ONLY, "sometimes");
    try {
      InvalidConfigurationPropertyValueException e = startupFailure();
      assertFailure(e, "abortguard.trailers-only", "sometimes", BOOLEAN);
      assertReport(output, "abortguard.trailers-only", "sometimes",
          "\"abortguard.trailersOnly\" from property source \"systemProperties\"", BOOLEAN);
    } finally {
      System.clearProperty(AbortGuardConfig.TRAILERS_ONLY);
    }
  }

  private static String reasonFor(String property) {
    switch (property) {
      case "abortguard.reset":
        return "Expected one of deferred, never, immediate.";
      case "abortguard.reset.grace":
        return "Expected a duration from 1ms to 24h, such as 250ms, 10s, 1m or 1h.";
      case "abortguard.lingering.max":
      case "abortguard.lingering.max-total":
        return WHOLE_NUMBER;
      default:
        return BOOLEAN;
    }
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

  private static void assertFailure(InvalidConfigurationPropertyValueException e, String property, String value,
      String reason) {
    assertEquals(property, e.getName());
    assertEquals(value, e.getValue());
    assertEquals(reason, e.getReason());
  }

  /** Boot's report, as printed: the property, the value and its origin on one line, then the reason. */
  private static void assertReport(CapturedOutput output, String property, String value, String origin,
      String reason) {
    String out = output.getAll();
    assertTrue(out.contains("APPLICATION FAILED TO START"), out);
    String line = "Invalid value '" + value + "' for configuration property '" + property
        + "' (originating from '" + origin + "'). Validation failed for the following reason:";
    assertTrue(out.contains(line), "'" + line + "' missing from:\n" + out);
    assertTrue(out.contains("reason:" + System.lineSeparator() + System.lineSeparator() + reason),
        "'" + reason + "' missing from:\n" + out);
    assertFalse(out.contains("Additionally, this property is also set"), out);
  }
}
