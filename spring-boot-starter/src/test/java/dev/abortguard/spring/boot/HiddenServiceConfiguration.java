package dev.abortguard.spring.boot;

import dev.abortguard.testing.TestServers;
import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import org.springframework.boot.grpc.server.autoconfigure.GrpcServerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.grpc.server.DefaultGrpcServerFactory;

/**
 * A second service, and a {@link GrpcServerFactoryCustomizer} whose service filter keeps it off
 * the server: the filter is state a guarded copy of Boot's factory must keep.
 */
@Configuration(proxyBeanMethods = false)
class HiddenServiceConfiguration {
  static final String SERVICE = "abortguard.demo.v1.Hidden";
  static final MethodDescriptor<byte[], byte[]> METHOD = MethodDescriptor
      .newBuilder(TestServers.bytesMarshaller(), TestServers.bytesMarshaller())
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Unary"))
      .build();

  @Bean
  BindableService hiddenService() {
    return () -> ServerServiceDefinition.builder(SERVICE)
        .addMethod(METHOD, ServerCalls.asyncUnaryCall((request, responses) -> {
          responses.onNext(request);
          responses.onCompleted();
        }))
        .build();
  }

  @Bean
  GrpcServerFactoryCustomizer hideService() {
    return factory -> ((DefaultGrpcServerFactory<?>) factory).setServiceFilter(
        (service, f) -> !service.getServiceDescriptor().getName().equals(SERVICE));
  }
}
