package dev.abortguard.sample.e2e;

import dev.abortguard.sample.e2e.ProxiedServer.Policy;

/**
 * {@code abortguard.reset=immediate} (what C-core and grpc-go servers do): the real status
 * direct, but through HAProxy 2.6 the reset in the trailers' flush becomes RST_STREAM(CANCEL) and
 * the grpcio client reports {@code CANCELLED}. This is the control that shows the rig reproduces the
 * bug.
 */
class ImmediatePolicyIT extends PolicyMatrix {
  @Override
  Policy policy() {
    return Policy.IMMEDIATE;
  }
}
