/**
 * The abortguard Quarkus extension's run-time half: {@code abortguard.*} bound through Quarkus's
 * config mapping, the {@code AbortGuard} bean, and the wiring into the gRPC server quarkus-grpc
 * builds. Not an API: an application adds the dependency and sets properties, nothing more.
 */
@Internal
package dev.abortguard.internal.quarkus;

import dev.abortguard.internal.Internal;
