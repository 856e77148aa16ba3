package dev.abortguard.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micronaut.context.ApplicationContext;
import io.micronaut.context.exceptions.ConfigurationException;
import io.micronaut.runtime.server.EmbeddedServer;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A bad {@code abortguard.*} value stops the Micronaut application at start, with the words of the
 * system-property check, the property in kebab-case and, where Micronaut can tell, where it was set.
 */
class InvalidPropertyTest {
  @Test
  void badResetStopsTheApplication() {
    String message = failure("abortguard.reset", "sometimes");
    assertTrue(message.startsWith("Invalid value 'sometimes' for abortguard.reset"), message);
    assertTrue(message.contains("expected"), message);
    assertTrue(message.contains("deferred") && message.contains("never") && message.contains("immediate"), message);
  }

  @Test
  void badValueStopsTheContextEvenBeforeAnyServerIsBuilt() {
    RuntimeException e = assertThrows(RuntimeException.class,
        () -> ApplicationContext.run(Map.of("abortguard.reset", "sometimes", "grpc.server.enabled", "false")).close());
    assertTrue(rootConfigurationMessage(e).startsWith("Invalid value 'sometimes' for abortguard.reset"), e.toString());
  }

  @Test
  void camelCaseNameIsReportedInKebabCase() {
    String message = failure("abortguard.lingering.maxTotal", "0");
    assertTrue(message.startsWith("Invalid value '0' for abortguard.lingering.max-total"), message);
    assertTrue(message.endsWith("expected a whole number from 1 to 2147483647"), message);
  }

  @Test
  void badGraceNamesItsProperty() {
    String message = failure("abortguard.reset.grace", "soon");
    assertTrue(message.startsWith("Invalid value 'soon' for abortguard.reset.grace"), message);
  }

  @Test
  void valueFromApplicationYamlNamesTheFile() {
    // src/test/resources/application-badreset.yml sets abortguard.reset: sometimes
    RuntimeException e = assertThrows(RuntimeException.class, () -> {
      try (ApplicationContext context = ApplicationContext.builder().environments("badreset")
          .properties(Map.of("grpc.server.port", 0, "grpc.server.host", "127.0.0.1")).start()) {
        context.getBean(EmbeddedServer.class).start();
      }
    });
    String message = rootConfigurationMessage(e);
    assertTrue(message.startsWith("Invalid value 'sometimes' for abortguard.reset (set in application-badreset"),
        message);
  }

  @Test
  void goodValuesInEverySpellingBind() {
    try (MicronautApp app = MicronautApp.start("abortguard.lingering.max-total", "7",
        "abortguard.lingering.max", "3", "abortguard.trailers-only", "false", "abortguard.reset.grace", "2s")) {
      assertEquals(7, app.guard().config().lingeringMaxTotal());
      assertEquals(3, app.guard().config().lingeringMax());
      assertEquals(false, app.guard().config().trailersOnly());
      assertEquals(java.time.Duration.ofSeconds(2), app.guard().config().resetGrace());
    }
    try (MicronautApp app = MicronautApp.start("abortguard.lingering.maxTotal", "9", "abortguard.trailersOnly", "false")) {
      assertEquals(9, app.guard().config().lingeringMaxTotal());
      assertEquals(false, app.guard().config().trailersOnly());
    }
  }

  @Test
  void constantsAreTheKebabNames() {
    for (String name : AbortGuardSettings.PROPERTIES) {
      assertTrue(java.util.List.of(AbortGuardSettings.ENABLED, AbortGuardSettings.RESET, AbortGuardSettings.RESET_GRACE,
          AbortGuardSettings.LINGERING_MAX, AbortGuardSettings.LINGERING_MAX_TOTAL, AbortGuardSettings.TRAILERS_ONLY)
          .contains(AbortGuardSettings.kebab(name)), name);
    }
  }

  private static String failure(String property, String value) {
    RuntimeException e = assertThrows(RuntimeException.class, () -> MicronautApp.start(property, value).close());
    return rootConfigurationMessage(e);
  }

  /** The guard's message: Micronaut wraps it in its bean-creation report. */
  private static String rootConfigurationMessage(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ConfigurationException && String.valueOf(t.getMessage()).startsWith("Invalid value")) {
        return t.getMessage();
      }
    }
    throw new AssertionError("no abortguard ConfigurationException in the failure", e);
  }
}
