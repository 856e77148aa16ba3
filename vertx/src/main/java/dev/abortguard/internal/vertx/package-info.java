/**
 * The Vert.x HTTP/2 adapter behind {@code dev.abortguard.vertx.AbortGuardVertx}: the one class
 * that reaches into Vert.x internals ({@link dev.abortguard.internal.vertx.VertxInternals}), the
 * per-connection adapter that feeds the shared driver, and the request handler that counts aborts.
 *
 * <p><b>Not API.</b> Public only so that abortguard's other artifacts (the Quarkus extension) can
 * use it: it may change or go in any release, and is left out of the javadoc.
 */
@Internal
package dev.abortguard.internal.vertx;

import dev.abortguard.internal.Internal;
