package dev.abortguard.spring.boot;

import io.grpc.ServerServiceDefinition;
import io.grpc.TlsServerCredentials.ClientAuth;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;
import org.springframework.grpc.server.DefaultGrpcServerFactory;
import org.springframework.grpc.server.ServerServiceDefinitionFilter;
import org.springframework.grpc.server.service.ServerInterceptorFilter;
import org.springframework.util.ReflectionUtils;

/**
 * Everything Spring Boot configured on one of Spring gRPC's factories, read so that a guarded
 * factory can be made with exactly the same settings: address, builder customizers (Boot's
 * {@code spring.grpc.server.*} properties among them), TLS managers, services and filters.
 *
 * <p>The starter's one use of Spring gRPC internals: {@link DefaultGrpcServerFactory} keeps these
 * in private fields and has no getters, so they are read by reflection (reads only; the copy is
 * built through the public constructor and setters). The field set is checked against the one this
 * class knows, so a Spring gRPC release that adds state fails startup with an explanation instead
 * of silently dropping a setting.
 */
final class FactorySettings {
  /** The instance fields of Spring gRPC 1.1's {@code DefaultGrpcServerFactory}. */
  private static final Set<String> KNOWN_FIELDS = Set.of("logger", "serviceList", "address",
      "serverBuilderCustomizers", "keyManager", "trustManager", "clientAuth", "serviceFilter",
      "interceptorFilter");

  final String address;
  final List<?> customizers;
  final KeyManagerFactory keyManager;
  final TrustManagerFactory trustManager;
  final ClientAuth clientAuth;
  private final List<ServerServiceDefinition> services;
  private final ServerServiceDefinitionFilter serviceFilter;
  private final ServerInterceptorFilter interceptorFilter;

  @SuppressWarnings("unchecked")
  private FactorySettings(DefaultGrpcServerFactory<?> factory) {
    this.address = (String) read(factory, "address");
    this.customizers = List.copyOf((List<?>) read(factory, "serverBuilderCustomizers"));
    this.keyManager = (KeyManagerFactory) read(factory, "keyManager");
    this.trustManager = (TrustManagerFactory) read(factory, "trustManager");
    this.clientAuth = (ClientAuth) read(factory, "clientAuth");
    this.services = List.copyOf((List<ServerServiceDefinition>) read(factory, "serviceList"));
    this.serviceFilter = (ServerServiceDefinitionFilter) read(factory, "serviceFilter");
    this.interceptorFilter = (ServerInterceptorFilter) read(factory, "interceptorFilter");
  }

  /**
   * Reads the settings of {@code factory}, whose class must add no state of its own to {@code
   * DefaultGrpcServerFactory}.
   *
   * @throws IllegalStateException if the factory's fields are not the ones this class knows
   */
  static FactorySettings of(DefaultGrpcServerFactory<?> factory) {
    Set<String> fields = instanceFields(DefaultGrpcServerFactory.class);
    Set<String> own = new TreeSet<>();
    for (Class<?> type = factory.getClass(); type != DefaultGrpcServerFactory.class; type = type.getSuperclass()) {
      own.addAll(instanceFields(type));
    }
    if (!fields.equals(KNOWN_FIELDS) || !own.isEmpty()) {
      throw new IllegalStateException("Spring gRPC " + springGrpcVersion() + " keeps settings abortguard "
          + "does not know how to copy (DefaultGrpcServerFactory fields " + new TreeSet<>(fields)
          + (own.isEmpty() ? "" : ", " + factory.getClass().getSimpleName() + " fields " + own)
          + "; abortguard knows " + new TreeSet<>(KNOWN_FIELDS) + ", from Spring gRPC 1.1)");
    }
    return new FactorySettings(factory);
  }

  /** Adds the services, then sets the filters (adding first, as the original already filtered them). */
  <F extends DefaultGrpcServerFactory<?>> F applyTo(F copy) {
    services.forEach(copy::addService);
    copy.setServiceFilter(serviceFilter);
    copy.setInterceptorFilter(interceptorFilter);
    return copy;
  }

  static String springGrpcVersion() {
    String version = DefaultGrpcServerFactory.class.getPackage().getImplementationVersion();
    return version == null ? "(unknown version)" : version;
  }

  private static Set<String> instanceFields(Class<?> type) {
    return Arrays.stream(type.getDeclaredFields())
        .filter(field -> !Modifier.isStatic(field.getModifiers()) && !field.isSynthetic())
        .map(Field::getName)
        .collect(Collectors.toSet());
  }

  private static Object read(DefaultGrpcServerFactory<?> factory, String name) {
    Field field = ReflectionUtils.findField(DefaultGrpcServerFactory.class, name);
    if (field == null) {
      throw new IllegalStateException("DefaultGrpcServerFactory has no field " + name);
    }
    ReflectionUtils.makeAccessible(field);
    return ReflectionUtils.getField(field, factory);
  }
}
