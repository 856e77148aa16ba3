/**
 * The grpc-java parts: credentials that carry the HTTP/2 adapter, the call layer (stream tracer and interceptor).
 *
 * <p><b>Not API.</b> Public only so that abortguard's other artifacts can use it: it may change or
 * go in any release, and is left out of the javadoc. Use {@link dev.abortguard.AbortGuard}.
 */
@Internal
package dev.abortguard.internal.grpc;

import dev.abortguard.internal.Internal;
