package dev.abortguard.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.testing.Await;
import dev.abortguard.testing.RawHttp2Client;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * An application listener that sets the builder's security after the guard's (so the guard's
 * HTTP/2 adapter is gone) still gets its TLS, and the guard says so: one ERROR line naming the fix
 * and {@code abortguard.misconfigured{problem=transport_not_guarded}}, instead of the guard replacing
 * the application's security.
 */
class WrongWiringTest {
  @Test
  void securitySetAfterTheGuardIsReported() {
    try (MicronautApp app = MicronautApp.start(LateSecurityListener.ENABLE, "true");
        RawHttp2Client client = RawHttp2Client.connectTls("127.0.0.1", app.grpcPort())) {
      Wire.abortedBidi(client); // the application's TLS is in force
      Await.until("the wiring problem reported",
          () -> app.registry().find("abortguard.misconfigured").tag("problem", "transport_not_guarded").counter() != null,
          Duration.ofSeconds(5));
      assertEquals(1.0, app.registry().get("abortguard.misconfigured").tag("problem", "transport_not_guarded")
          .counter().count());
    }
  }
}
