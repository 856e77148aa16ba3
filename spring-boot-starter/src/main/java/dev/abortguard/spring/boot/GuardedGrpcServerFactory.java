package dev.abortguard.spring.boot;

import dev.abortguard.AbortGuard;
import org.springframework.grpc.server.GrpcServerFactory;

/**
 * A gRPC server factory whose servers carry an {@link AbortGuard}: both parts, the HTTP/2 adapter
 * in the credentials and the call layer on the builder. The auto-configuration leaves such
 * factories as they are.
 */
interface GuardedGrpcServerFactory extends GrpcServerFactory {
  /** The guard this factory's servers carry. */
  AbortGuard abortGuard();
}
