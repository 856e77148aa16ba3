/**
 * abortguard for Armeria servers: {@link dev.abortguard.armeria.AbortGuardArmeria#install} puts an
 * {@link dev.abortguard.AbortGuard}'s early-close policy on every HTTP/2 connection of an Armeria
 * server, in place of Armeria's own RST_STREAM(CANCEL) after early trailers.
 */
package dev.abortguard.armeria;
