/**
 * Micronaut 4 integration for abortguard: on the class path, it guards the gRPC server of {@code
 * micronaut-grpc-server-runtime} (both parts of the guard, plaintext or TLS), configured by {@code
 * abortguard.*} properties and recording into the application's Micrometer {@code MeterRegistry}.
 * Nothing here is for the application to call: every type is package-private, and an application
 * that wants its own guard defines an {@link dev.abortguard.AbortGuard} bean.
 */
package dev.abortguard.micronaut;
