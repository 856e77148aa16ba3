package dev.abortguard.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.AbortGuardConfig;
import io.micronaut.context.ApplicationContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The YAML block of docs/micronaut.md, as application-docsyaml.yml: Micronaut reads {@code reset}
 * and {@code reset.grace} side by side, and every value reaches the guard. The file must stay the
 * docs' block.
 */
class ApplicationYamlTest {
  @Test
  void theDocsYamlConfiguresTheGuard() throws IOException {
    String yaml = Files.readString(Path.of("src/test/resources/application-docsyaml.yml"));
    String docs = Files.readString(Path.of("../docs/micronaut.md"));
    assertTrue(docs.contains("```yaml\n" + yaml + "```"), "docs/micronaut.md's YAML block differs from " + yaml);

    // The docs show the defaults, so the values alone cannot tell a YAML that binds nothing: each
    // property must also be found set.
    try (ApplicationContext context = ApplicationContext.builder().environments("docsyaml")
        .properties(Map.of("grpc.server.enabled", "false")).start()) {
      AbortGuardConfig config = context.getBean(AbortGuard.class).config();
      assertEquals(Duration.ofSeconds(10), config.resetGrace());
      assertEquals(1024, config.lingeringMax());
      assertEquals(10000, config.lingeringMaxTotal());
      assertTrue(config.trailersOnly());
      AbortGuardSettings settings = new AbortGuardSettings(context.getEnvironment());
      for (String name : AbortGuardSettings.PROPERTIES) {
        if (!name.equals(AbortGuardConfig.ENABLED)) {
          assertTrue(settings.value(name) != null, name + " not read from the docs' YAML");
        }
      }
    }
  }
}
