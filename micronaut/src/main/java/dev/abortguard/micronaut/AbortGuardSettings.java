package dev.abortguard.micronaut;

import dev.abortguard.AbortGuardConfig;
import io.micronaut.context.env.Environment;
import io.micronaut.context.env.PropertySource;
import io.micronaut.context.exceptions.ConfigurationException;
import io.micronaut.core.naming.NameUtils;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The {@code abortguard.*} settings as Micronaut's configuration gives them (application.yml or
 * .properties, environment variables such as {@code ABORTGUARD_RESET}, system properties, {@code
 * ApplicationContext.run(Map)}), under kebab-case names: {@code abortguard.enabled}, {@code
 * abortguard.reset}, {@code abortguard.reset.grace}, {@code abortguard.lingering.max}, {@code
 * abortguard.lingering.max-total}, {@code abortguard.trailers-only}. The system properties'
 * camel-case names ({@code abortguard.lingering.maxTotal}) are read too.
 *
 * <p>Each value is kept as text and parsed exactly as the system property would be, so a bad one
 * fails with the words of the system-property check, naming the property in kebab-case and the
 * property source it came from, and stops the application at start.
 *
 * <p>Why not a {@code @ConfigurationProperties} bean: {@code abortguard.reset} is both a value and
 * the prefix of {@code abortguard.reset.grace}, which a bean cannot mirror, and a bean's conversion
 * errors would not use the guard's messages.
 *
 * <p>The application never creates or calls this class: adding {@code abortguard-micronaut} is the
 * whole integration. Its constants name the properties.
 */
public final class AbortGuardSettings {
  /** {@code false} installs nothing at all. Default {@code true}. */
  public static final String ENABLED = "abortguard.enabled";
  /** {@code deferred} (default), {@code never} or {@code immediate}; see {@link dev.abortguard.ResetPolicy}. */
  public static final String RESET = "abortguard.reset";
  /** How long a deferred reset waits for the peer: {@code 250ms}, {@code 10s} (default), {@code 1m}. */
  public static final String RESET_GRACE = "abortguard.reset.grace";
  /** Lingering streams allowed per connection before the oldest is reset. Default 1024. */
  public static final String LINGERING_MAX = "abortguard.lingering.max";
  /** Lingering streams allowed across every connection of the server. Default 10000. */
  public static final String LINGERING_MAX_TOTAL = "abortguard.lingering.max-total";
  /** Hold eagerly sent response headers back so that an abort is trailers-only. Default {@code true}. */
  public static final String TRAILERS_ONLY = "abortguard.trailers-only";

  /** abortguard's property names, as the system properties spell them. */
  static final List<String> PROPERTIES = List.of(AbortGuardConfig.ENABLED, AbortGuardConfig.RESET,
      AbortGuardConfig.RESET_GRACE, AbortGuardConfig.LINGERING_MAX, AbortGuardConfig.LINGERING_MAX_TOTAL,
      AbortGuardConfig.TRAILERS_ONLY);

  private final Environment environment;

  AbortGuardSettings(Environment environment) {
    this.environment = environment;
  }

  /** {@code abortguard.lingering.maxTotal} as Micronaut's configuration names it: {@code abortguard.lingering.max-total}. */
  static String kebab(String systemPropertyName) {
    return NameUtils.hyphenate(systemPropertyName, true);
  }

  /** The value set for {@code systemPropertyName} (in any of its spellings), or null when unset. */
  String value(String systemPropertyName) {
    Optional<String> kebab = environment.getProperty(kebab(systemPropertyName), String.class);
    return kebab.orElseGet(() -> environment.getProperty(systemPropertyName, String.class).orElse(null));
  }

  /**
   * The settings, checked one by one.
   *
   * @throws ConfigurationException on the first bad value: "Invalid value 'x' for abortguard.reset
   *     (set in application.yml): expected ..."
   */
  Function<String, String> validated() {
    for (String name : PROPERTIES) {
      String value = value(name);
      if (value == null) {
        continue;
      }
      try {
        AbortGuardConfig.from(property -> property.equals(name) ? value : null);
      } catch (IllegalArgumentException e) {
        throw new ConfigurationException(message(e, name, value), e);
      }
    }
    return this::value;
  }

  /** The guard's message with the property in kebab-case and, when Micronaut can tell, its source. */
  private String message(IllegalArgumentException e, String name, String value) {
    String message = String.valueOf(e.getMessage());
    String prefix = "Invalid value '" + value + "' for " + name;
    String rest = message.startsWith(prefix) ? message.substring(prefix.length()) : ": " + message;
    String source = source(name).map(s -> " (set in " + s + ")").orElse("");
    return "Invalid value '" + value + "' for " + kebab(name) + source + rest;
  }

  /** The name of the property source whose value wins, if one holds the property under a name we know. */
  private Optional<String> source(String name) {
    List<PropertySource> sources = new ArrayList<>(environment.getPropertySources());
    // Micronaut lets the source of highest order win. Sources hold flat names (the YAML loader
    // flattens), environment variables their own spelling.
    sources.sort(Comparator.comparingInt(PropertySource::getOrder).reversed());
    List<String> spellings = List.of(kebab(name), name, name.replace('.', '_').toUpperCase(java.util.Locale.ROOT),
        kebab(name).replace('.', '_').replace('-', '_').toUpperCase(java.util.Locale.ROOT));
    for (PropertySource source : sources) {
      for (String spelling : spellings) {
        if (source.get(spelling) != null) {
          return Optional.of(source.getName());
        }
      }
    }
    return Optional.empty();
  }
}
