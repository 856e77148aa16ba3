package example;

import dev.abortguard.AbortGuard;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import net.devh.boot.grpc.server.config.GrpcServerProperties;
import net.devh.boot.grpc.server.serverfactory.GrpcServerConfigurer;
import net.devh.boot.grpc.server.serverfactory.GrpcServerLifecycle;
import net.devh.boot.grpc.server.service.GrpcServiceDefinition;
import net.devh.boot.grpc.server.service.GrpcServiceDiscoverer;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * The two beans net.devh's GrpcServerFactoryAutoConfiguration would make, with the guarded factory.
 * A GrpcServerFactory bean of one's own makes that auto-configuration back off entirely, lifecycle
 * included, so both are declared here.
 */
@Configuration(proxyBeanMethods = false)
public class AbortGuardGrpcConfiguration {

  @Bean
  AbortGuard abortGuard(Environment environment, ObjectProvider<MeterRegistry> registry) {
    // abortguard.* from any Spring property source (application.properties, system properties, ...)
    AbortGuard.Builder builder = AbortGuard.builder().properties(environment::getProperty);
    registry.ifAvailable(builder::meterRegistry);
    return builder.build();
  }

  @Bean
  GuardedDevhGrpcServerFactory guardedDevhGrpcServerFactory(GrpcServerProperties properties,
      GrpcServiceDiscoverer discoverer, List<GrpcServerConfigurer> configurers, AbortGuard guard) {
    GuardedDevhGrpcServerFactory factory = new GuardedDevhGrpcServerFactory(properties, configurers, guard);
    for (GrpcServiceDefinition service : discoverer.findGrpcServices()) {
      factory.addService(service);
    }
    return factory;
  }

  @Bean
  GrpcServerLifecycle guardedGrpcServerLifecycle(GuardedDevhGrpcServerFactory factory,
      GrpcServerProperties properties, ApplicationEventPublisher events) {
    return new GrpcServerLifecycle(factory, properties.getShutdownGracePeriod(), events);
  }
}
