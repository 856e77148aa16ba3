package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.abortguard.AbortGuardConfig;
import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code abortguard.*} from an application.yml: every setting arrives, and the policy shows on the wire. */
class ApplicationYamlTest {
  @Test
  void applicationYamlSetsEverySetting() {
    try (BootApp app = BootApp.start("--spring.config.location=classpath:/yaml-policy/application.yml");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      AbortGuardConfig config = app.guard().config();
      assertEquals(ResetPolicy.IMMEDIATE, config.reset(), config.toString());
      assertEquals(Duration.ofMillis(250), config.resetGrace(), config.toString());
      assertEquals(50, config.lingeringMax(), config.toString());
      assertEquals(500, config.lingeringMaxTotal(), config.toString());
      assertFalse(config.trailersOnly(), config.toString());

      Frame trailers = Wire.abortedBidi(client);
      Frame reset = client.awaitFrame(f -> Wire.isReset(f, trailers.streamId()), Wire.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
    }
  }
}
