/**
 * abortguard for the Vert.x gRPC server: {@link dev.abortguard.vertx.AbortGuardVertx#install} puts
 * an {@link dev.abortguard.AbortGuard}'s early-close policy on every HTTP/2 connection of a Vert.x
 * {@code HttpServer}, and counts the aborts of the {@code GrpcServer} it serves.
 */
package dev.abortguard.vertx;
