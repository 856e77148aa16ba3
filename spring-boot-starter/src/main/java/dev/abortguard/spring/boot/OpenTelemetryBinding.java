package dev.abortguard.spring.boot;

import dev.abortguard.AbortGuard;
import io.opentelemetry.api.OpenTelemetry;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.util.ClassUtils;

/**
 * The application's {@link OpenTelemetry} bean for the guard's meters, when it has no
 * MeterRegistry. Its own class, touched only when opentelemetry-api is on the classpath, so that
 * the auto-configuration loads without it.
 */
final class OpenTelemetryBinding {
  static final boolean PRESENT =
      ClassUtils.isPresent("io.opentelemetry.api.OpenTelemetry", OpenTelemetryBinding.class.getClassLoader());

  private OpenTelemetryBinding() {}

  /** Hands the application's one OpenTelemetry to {@code builder}; whether there was one. */
  static boolean bind(AbortGuard.Builder builder, BeanFactory beans) {
    OpenTelemetry openTelemetry = beans.getBeanProvider(OpenTelemetry.class).getIfUnique();
    if (openTelemetry == null) {
      return false;
    }
    builder.openTelemetry(openTelemetry);
    return true;
  }
}
