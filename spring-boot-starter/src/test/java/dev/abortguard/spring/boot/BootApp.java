package dev.abortguard.spring.boot;

import dev.abortguard.AbortGuard;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.grpc.server.lifecycle.GrpcServerLifecycle;

/**
 * One running Spring Boot application ({@link DemoApplication} plus optional configuration) with
 * its gRPC server on a random 127.0.0.1 port; {@link #close()} stops it.
 */
public final class BootApp implements AutoCloseable {
  /** What every test application gets, before the test's own arguments (which win). */
  private static final List<String> COMMON = List.of(
      "--spring.grpc.server.address=127.0.0.1",
      "--spring.grpc.server.port=0",
      "--server.address=127.0.0.1",
      "--server.port=0",
      "--management.endpoints.web.exposure.include=prometheus",
      "--spring.main.banner-mode=off",
      "--logging.level.root=warn",
      "--logging.level.dev.abortguard=info");

  public final ConfigurableApplicationContext context;

  private BootApp(ConfigurableApplicationContext context) {
    this.context = context;
  }

  /** Starts a non-web application; {@code args} are command-line arguments such as {@code --abortguard.reset=never}. */
  public static BootApp start(String... args) {
    return start(WebApplicationType.NONE, List.of(), args);
  }

  /** Starts a servlet application (Tomcat on a random port, {@code /actuator/prometheus} exposed). */
  static BootApp startWeb(String... args) {
    return start(WebApplicationType.SERVLET, List.of(), args);
  }

  static BootApp start(WebApplicationType type, List<Class<?>> extra, String... args) {
    List<String> all = new ArrayList<>(COMMON);
    all.addAll(List.of(args));
    List<Class<?>> sources = new ArrayList<>(List.of(DemoApplication.class));
    sources.addAll(extra);
    ConfigurableApplicationContext context = new SpringApplicationBuilder(sources.toArray(Class<?>[]::new))
        .web(type)
        .run(all.toArray(String[]::new));
    return new BootApp(context);
  }

  /** The port of the network gRPC server. */
  public int grpcPort() {
    return context.getBeansOfType(GrpcServerLifecycle.class).values().stream()
        .mapToInt(GrpcServerLifecycle::getPort)
        .filter(port -> port > 0)
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("no network gRPC server is running"));
  }

  /** The server factory the network gRPC server was built by. */
  public Object grpcServerFactory() {
    return context.getBeansOfType(GrpcServerLifecycle.class).values().stream()
        .filter(lifecycle -> lifecycle.getPort() > 0)
        .map(GrpcServerLifecycle::getFactory)
        .findFirst()
        .orElseThrow();
  }

  AbortGuard guard() {
    return context.getBean(AbortGuard.class);
  }

  public MeterRegistry meterRegistry() {
    return context.getBean(MeterRegistry.class);
  }

  /** {@code GET /actuator/prometheus} of a web application. */
  Scrape scrape() {
    int port = context.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/prometheus"))
        .timeout(Duration.ofSeconds(10))
        .build();
    try {
      HttpResponse<String> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IllegalStateException("/actuator/prometheus answered " + response.statusCode() + ": "
            + response.body());
      }
      return Scrape.parse(response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    context.close();
  }
}
