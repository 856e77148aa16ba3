package dev.abortguard.probe;

/**
 * The check could not reach a verdict: the target could not be reached, did not speak HTTP/2 or
 * gRPC, or did not reject the call at once. The message says what happened and what to change.
 */
final class ProbeFailure extends Exception {
  private static final long serialVersionUID = 1L;

  ProbeFailure(String message) {
    super(message);
  }
}
