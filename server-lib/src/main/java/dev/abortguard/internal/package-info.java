/**
 * What abortguard's artifacts share with each other and users must not call.
 *
 * <p><b>Not API.</b> Public only so that abortguard's other artifacts can use it: it may change or
 * go in any release, and is left out of the javadoc. Use {@link dev.abortguard.AbortGuard}.
 */
@Internal
package dev.abortguard.internal;
