package dev.abortguard.sample.e2e;

import dev.abortguard.sample.e2e.ProxiedServer.Policy;

/**
 * {@code abortguard.enabled=false}: plain grpc-java, which never resets after trailers, so the real
 * status arrives direct and through HAProxy; the guard tracks and counts nothing.
 */
class GuardDisabledIT extends PolicyMatrix {
  @Override
  Policy policy() {
    return Policy.DISABLED;
  }
}
