/**
 * abortguard's API: {@link dev.abortguard.AbortGuard} and its builder, its settings ({@link
 * dev.abortguard.AbortGuardConfig}) and the reset policy ({@link dev.abortguard.ResetPolicy}).
 * Everything under {@code dev.abortguard.internal} is not API.
 */
package dev.abortguard;
