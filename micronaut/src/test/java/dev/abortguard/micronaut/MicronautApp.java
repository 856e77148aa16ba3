package dev.abortguard.micronaut;

import dev.abortguard.AbortGuard;
import dev.abortguard.testing.GuardMeters;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.ApplicationContext;
import io.micronaut.grpc.server.GrpcEmbeddedServer;
import io.micronaut.runtime.server.EmbeddedServer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A real Micronaut application with micronaut-grpc-server-runtime, this module and the test beans
 * ({@link DemoService}, {@link AuthInterceptor}, {@link CallCounter}), its gRPC server on 127.0.0.1
 * and a port the system picks; properties are {@code "name", "value"} pairs.
 */
public final class MicronautApp implements AutoCloseable, GuardMeters {
  public final ApplicationContext context;
  public final GrpcEmbeddedServer server;

  private MicronautApp(ApplicationContext context) {
    this.context = context;
    this.server = (GrpcEmbeddedServer) context.getBean(EmbeddedServer.class);
    if (!server.isRunning()) {
      server.start();
    }
  }

  /** Starts the application; fails as Micronaut fails when a property is bad. */
  public static MicronautApp start(String... properties) {
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("grpc.server.host", "127.0.0.1");
    settings.put("grpc.server.port", 0);
    for (int i = 0; i < properties.length; i += 2) {
      settings.put(properties[i], properties[i + 1]);
    }
    return new MicronautApp(ApplicationContext.run(EmbeddedServer.class, settings).getApplicationContext());
  }

  public int grpcPort() {
    return server.getServer().getPort();
  }

  public AbortGuard guard() {
    return context.getBean(AbortGuard.class);
  }

  @Override
  public MeterRegistry registry() {
    return context.getBean(MeterRegistry.class);
  }

  @Override
  public void close() {
    if (context.isRunning()) {
      context.close();
    }
  }
}
