package dev.abortguard.sample.e2e;

import dev.abortguard.sample.e2e.ProxiedServer.Policy;

/**
 * {@code abortguard.reset=never} (grpc-java's stock behaviour, counted): the real status every time,
 * direct and through HAProxy; the streams are released when the peer closes them.
 */
class NeverPolicyIT extends PolicyMatrix {
  @Override
  Policy policy() {
    return Policy.NEVER;
  }
}
