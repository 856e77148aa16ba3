package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.sample.e2e.Json;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The configuration metadata IDEs read: every abortguard property, described, with abortguard's
 * own defaults (checked against {@link AbortGuardConfig}, so the two cannot drift apart).
 */
class ConfigurationMetadataTest {
  @Test
  void everyPropertyIsDescribedWithItsDefault() throws IOException {
    Map<String, Map<String, Object>> properties = properties();
    AbortGuardConfig defaults = AbortGuardConfig.from(name -> null);
    Map<String, String> expected = Map.of(
        "abortguard.enabled", Boolean.toString(defaults.enabled()),
        "abortguard.reset", defaults.reset().value(),
        "abortguard.reset.grace", defaults.resetGrace().toSeconds() + "s",
        "abortguard.lingering.max", Integer.toString(defaults.lingeringMax()),
        "abortguard.lingering.max-total", Integer.toString(defaults.lingeringMaxTotal()),
        "abortguard.trailers-only", Boolean.toString(defaults.trailersOnly()));
    assertEquals(expected.keySet(), properties.keySet());
    expected.forEach((name, defaultValue) -> {
      Map<String, Object> property = properties.get(name);
      assertEquals(defaultValue, property.get("defaultValue"), name);
      assertNotNull(property.get("description"), name);
      assertTrue(((String) property.get("description")).endsWith("."), name);
    });
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Map<String, Object>> properties() throws IOException {
    try (InputStream in = ConfigurationMetadataTest.class.getResourceAsStream(
        "/META-INF/spring-configuration-metadata.json")) {
      assertNotNull(in, "META-INF/spring-configuration-metadata.json is not generated");
      Map<String, Object> metadata = Json.object(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      return ((List<Object>) metadata.get("properties")).stream()
          .map(p -> (Map<String, Object>) p)
          .collect(Collectors.toMap(p -> (String) p.get("name"), p -> p));
    }
  }
}
