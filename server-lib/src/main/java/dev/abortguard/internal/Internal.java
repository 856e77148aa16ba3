package dev.abortguard.internal;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks what is not abortguard's API: public only because another abortguard artifact (Armeria,
 * grpc-okhttp, the Spring Boot starter, the shaded jar) uses it. It may change or go in any
 * release, without notice, and is left out of the javadoc. Everything under {@code
 * dev.abortguard.internal} carries it, as grpc-java's {@code @Internal} and Netty's {@code
 * @UnstableApi} do; a build test fails when a public type outside that package is not on the
 * artifact's list of API types.
 */
@Internal
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.PACKAGE, ElementType.CONSTRUCTOR, ElementType.METHOD, ElementType.FIELD})
public @interface Internal {}
