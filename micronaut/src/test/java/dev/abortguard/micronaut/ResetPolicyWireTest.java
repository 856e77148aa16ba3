package dev.abortguard.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Each {@code abortguard.reset} policy, set as a Micronaut property, as the raw HTTP/2 client sees it
 * on Micronaut's gRPC server: the auth interceptor bean rejects a bidi call while the client keeps
 * its side open, and what follows the trailers-only response is the policy's.
 */
class ResetPolicyWireTest {
  private static final Duration GRACE = Duration.ofMillis(600);

  @Test
  void immediateResetsWithNoErrorInTheTrailersRead() {
    try (MicronautApp app = MicronautApp.start("abortguard.reset", "immediate");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      assertEquals(ResetPolicy.IMMEDIATE, app.guard().config().reset());
      Frame trailers = Wire.abortedBidi(client);
      Frame reset = client.awaitFrame(f -> Wire.isReset(f, trailers.streamId()), Wire.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
      assertEquals(trailers.readBatch(), reset.readBatch(),
          "RST_STREAM should arrive in the same read as the trailers:\n" + client.describeFrames());
      assertEquals(1, app.released(ReleaseCause.IMMEDIATE, 1));
    }
  }

  @Test
  void deferredWithholdsTheResetUntilTheGraceRunsOut() {
    try (MicronautApp app = MicronautApp.start("abortguard.reset", "deferred", "abortguard.reset.grace", "600ms");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      assertEquals(GRACE, app.guard().config().resetGrace());
      Frame trailers = Wire.abortedBidi(client);
      client.assertNoFrame(f -> Wire.isReset(f, trailers.streamId()), GRACE.dividedBy(2));
      assertEquals(1, app.lingering());
      Frame reset = client.awaitFrame(f -> Wire.isReset(f, trailers.streamId()), Wire.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
      long after = reset.receivedNanos() - trailers.receivedNanos();
      assertTrue(after >= GRACE.minusMillis(50).toNanos(),
          "the reset came " + after / 1_000_000 + " ms after the trailers:\n" + client.describeFrames());
      assertEquals(1, app.released(ReleaseCause.GRACE_EXPIRED, 1));
    }
  }

  @Test
  void neverResetsEvenPastTheGrace() {
    try (MicronautApp app = MicronautApp.start("abortguard.reset", "never", "abortguard.reset.grace", "600ms");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      Frame trailers = Wire.abortedBidi(client);
      client.assertNoFrame(f -> f.type() == RawHttp2Client.RST_STREAM, GRACE.multipliedBy(2));
      assertTrue(trailers.endStream());
      assertEquals(1, app.lingering());
    }
  }

  /** The control, for the docs' table: stock Micronaut (guard disabled) leaves the stream open. */
  @Test
  void stockLeavesTheStreamOpen() {
    try (MicronautApp app = MicronautApp.start("abortguard.enabled", "false");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      Frame trailers = Wire.abortedBidi(client);
      client.assertNoFrame(f -> f.type() == RawHttp2Client.RST_STREAM, GRACE.multipliedBy(2));
      assertTrue(trailers.endStream());
    }
  }

  /** {@code abortguard.lingering.max} reaches the connection: past it the eldest lingering stream is reset. */
  @Test
  void lingeringMaxResetsTheEldest() {
    try (MicronautApp app = MicronautApp.start("abortguard.lingering.max", "1", "abortguard.reset.grace", "1m");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      Frame first = Wire.abortedBidi(client);
      Frame second = Wire.abortedBidi(client);
      Frame reset = client.awaitFrame(f -> f.type() == RawHttp2Client.RST_STREAM, Wire.WAIT);
      assertEquals(first.streamId(), reset.streamId(), client.describeFrames());
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
      client.assertNoFrame(f -> Wire.isReset(f, second.streamId()), GRACE);
      assertEquals(1, app.released(ReleaseCause.OVERFLOW, 1));
      assertEquals(1, app.lingering());
    }
  }
}
