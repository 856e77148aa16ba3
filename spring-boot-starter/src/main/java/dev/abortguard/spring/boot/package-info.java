/**
 * Spring Boot auto-configuration for abortguard: guards the gRPC server of Spring Boot's {@code
 * spring-boot-starter-grpc-server}, configured by {@code abortguard.*} properties.
 */
package dev.abortguard.spring.boot;
