package dev.abortguard.micronaut;

import dev.abortguard.AbortGuard;
import io.micronaut.context.ApplicationContext;
import java.util.Map;

/** {@link EnvironmentVariableTest}'s child JVM: starts a context without a server and prints the guard's settings. */
final class EnvironmentMain {
  private EnvironmentMain() {}

  public static void main(String[] args) {
    try (ApplicationContext context = ApplicationContext.run(Map.of("grpc.server.enabled", "false"))) {
      AbortGuard guard = context.getBean(AbortGuard.class);
      System.out.println("GUARD grace=" + guard.config().resetGrace().toMillis() + "ms maxTotal="
          + guard.config().lingeringMaxTotal());
    }
  }
}
