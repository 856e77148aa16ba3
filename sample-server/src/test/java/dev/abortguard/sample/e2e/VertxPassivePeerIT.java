package dev.abortguard.sample.e2e;

import dev.abortguard.sample.Options.Transport;

/** {@link PassivePeerIT} on the {@code vertx} transport: the same frames, direct and through HAProxy 2.6. */
class VertxPassivePeerIT extends PassivePeerIT {
  @Override
  Transport transport() {
    return Transport.VERTX;
  }
}
