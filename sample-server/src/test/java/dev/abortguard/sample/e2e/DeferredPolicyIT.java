package dev.abortguard.sample.e2e;

import dev.abortguard.sample.e2e.ProxiedServer.Policy;

/**
 * {@code abortguard.reset=deferred} (the default; grace 2 s here): every aborted call ends with its
 * real status, direct and through HAProxy, and the streams are released as soon as the peer closes.
 */
class DeferredPolicyIT extends PolicyMatrix {
  @Override
  Policy policy() {
    return Policy.DEFERRED;
  }
}
