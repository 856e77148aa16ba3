package dev.abortguard.spring.boot;

import io.grpc.Status;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.core.annotation.Order;
import org.springframework.grpc.server.GlobalServerInterceptor;
import org.springframework.grpc.server.exception.GrpcExceptionHandler;

/**
 * The Boot application the tests run: the demo service, an auth-like global interceptor inside
 * Boot's observation interceptor ({@code @Order(0)}), and an exception handler for Boot's
 * exception-handling interceptor. No component scan: tests add their own configuration classes.
 */
@SpringBootConfiguration(proxyBeanMethods = false)
@EnableAutoConfiguration
public class DemoApplication {
  @Bean
  DemoService demoService() {
    return new DemoService();
  }

  @Bean
  @GlobalServerInterceptor
  @Order(10)
  AuthInterceptor authInterceptor() {
    return new AuthInterceptor();
  }

  @Bean
  GrpcExceptionHandler illegalArgument() {
    return exception -> exception instanceof IllegalArgumentException
        ? Status.INVALID_ARGUMENT.withDescription(exception.getMessage()).asException()
        : null;
  }
}
