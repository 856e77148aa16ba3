package dev.abortguard.spring.boot;

import dev.abortguard.AbortGuard;
import dev.abortguard.AbortGuardConfig;
import io.grpc.BindableService;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.function.Function;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.DataObjectPropertyName;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.grpc.server.autoconfigure.GrpcServerAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.grpc.server.GrpcServerFactory;

/**
 * Guards the gRPC server Spring Boot builds: active whenever Boot's gRPC server auto-configuration
 * is. The {@link AbortGuard} comes from the {@code abortguard.*} properties and records into the
 * application's {@link MeterRegistry}, or, without one, its OpenTelemetry; its HTTP/2 adapter goes into the credentials of Boot's
 * grpc-netty or grpc-netty-shaded server factory (see {@link GuardedServerFactories}), its call
 * layer onto every server builder Boot customizes (see {@link CallLayerCustomizer}). With {@code
 * abortguard.enabled=false} nothing is installed.
 */
@AutoConfiguration(after = GrpcServerAutoConfiguration.class)
@ConditionalOnClass({GrpcServerFactory.class, BindableService.class})
@ConditionalOnBean(BindableService.class)
@ConditionalOnBooleanProperty(name = "spring.grpc.server.enabled", matchIfMissing = true)
@EnableConfigurationProperties(AbortGuardProperties.class)
final class AbortGuardAutoConfiguration {
  private static final Log logger = LogFactory.getLog(AbortGuardAutoConfiguration.class);
  private static final List<String> PROPERTIES = List.of(AbortGuardConfig.ENABLED, AbortGuardConfig.RESET,
      AbortGuardConfig.RESET_GRACE, AbortGuardConfig.LINGERING_MAX, AbortGuardConfig.LINGERING_MAX_TOTAL,
      AbortGuardConfig.TRAILERS_ONLY);

  /** The guard, from the {@code abortguard.*} properties; define an {@link AbortGuard} bean to replace it. */
  @Bean
  @ConditionalOnMissingBean
  AbortGuard abortGuard(AbortGuardProperties properties, Environment environment,
      ObjectProvider<MeterRegistry> meterRegistry, BeanFactory beans) {
    String grace = Binder.get(environment).bind(AbortGuardConfig.RESET_GRACE, String.class).orElse(null);
    Function<String, String> settings = name -> properties.value(name, grace);
    validate(settings);
    MeterRegistry registry = meterRegistry.getIfUnique();
    AbortGuard guard;
    String meters = " (no MeterRegistry or OpenTelemetry: no metrics)";
    try {
      AbortGuard.Builder builder = AbortGuard.builder().properties(settings);
      if (registry != null) {
        builder.meterRegistry(registry);
        meters = "";
      } else if (OpenTelemetryBinding.PRESENT && OpenTelemetryBinding.bind(builder, beans)) {
        meters = " (meters to the application's OpenTelemetry)";
      }
      guard = builder.build();
    } catch (LinkageError e) {
      throw GuardedServerFactories.transportMissing(e);
    }
    logger.info(guard.config().enabled()
        ? "abortguard: " + guard.config() + meters
        : "abortguard is disabled (" + AbortGuardConfig.ENABLED + "=false): the gRPC server is left as it is");
    return guard;
  }

  /** Static: a bean post-processor, created early; it asks for the guard only when a factory appears. */
  @Bean
  static GuardedServerFactories abortGuardServerFactories(ObjectProvider<AbortGuard> guard) {
    return new GuardedServerFactories(guard);
  }

  /** The call layer on every builder Boot customizes, in-process and servlet included. */
  @Bean
  CallLayerCustomizer<?> abortGuardCallLayer(AbortGuard guard) {
    return new CallLayerCustomizer<>(guard);
  }

  /**
   * Fails on the first bad value with Spring Boot's invalid-property report: the property as the
   * configuration metadata names it, the value, where it was set and what is allowed.
   */
  private static void validate(Function<String, String> settings) {
    for (String name : PROPERTIES) {
      String value = settings.apply(name);
      if (value == null) {
        continue;
      }
      try {
        AbortGuardConfig.from(property -> property.equals(name) ? value : null);
      } catch (IllegalArgumentException e) {
        throw new InvalidConfigurationPropertyValueException(metadataName(name), value, reason(e, name, value), e);
      }
    }
  }

  /**
   * {@code abortguard.lingering.maxTotal} as Spring's metadata names it: {@code
   * abortguard.lingering.max-total}. Boot's report finds where a value was set, in whichever form it
   * was written, only by this canonical name.
   */
  private static String metadataName(String systemPropertyName) {
    return DataObjectPropertyName.toDashedForm(systemPropertyName);
  }

  /** "Invalid value 'x' for abortguard.reset: expected one of ..." becomes "Expected one of ....". */
  static String reason(IllegalArgumentException e, String name, String value) {
    String message = String.valueOf(e.getMessage());
    String prefix = "Invalid value '" + value + "' for " + name + ": ";
    String reason = message.startsWith(prefix) ? message.substring(prefix.length()) : message;
    return Character.toUpperCase(reason.charAt(0)) + reason.substring(1) + (reason.endsWith(".") ? "" : ".");
  }
}
