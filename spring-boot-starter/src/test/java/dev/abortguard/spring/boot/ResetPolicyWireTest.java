package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.grpc.server.NettyGrpcServerFactory;

/**
 * Each {@code abortguard.reset} policy, set as a Boot property, as the raw HTTP/2 client sees it on
 * Spring Boot's grpc-netty server: the auth interceptor rejects a bidi call while the client keeps
 * its side open, and what follows the trailers-only response is the policy's.
 */
class ResetPolicyWireTest {
  private static final Duration GRACE = Duration.ofMillis(600);

  @Test
  void immediateResetsWithNoErrorInTheTrailersRead() {
    try (BootApp app = BootApp.start("--abortguard.reset=immediate");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      assertEquals(ResetPolicy.IMMEDIATE, app.guard().config().reset());
      Frame trailers = Wire.abortedBidi(client);
      Frame reset = client.awaitFrame(f -> Wire.isReset(f, trailers.streamId()), Wire.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
      assertEquals(trailers.readBatch(), reset.readBatch(),
          "RST_STREAM should arrive in the same read as the trailers:\n" + client.describeFrames());
    }
  }

  @Test
  void deferredWithholdsTheResetUntilTheGraceRunsOut() {
    try (BootApp app = BootApp.start("--abortguard.reset=deferred", "--abortguard.reset.grace=600ms");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      assertEquals(GRACE, app.guard().config().resetGrace());
      long callStarted = System.nanoTime(); // the server cannot end the stream, nor start its grace, earlier
      Frame trailers = Wire.abortedBidi(client);
      Frame reset = client.awaitFrame(f -> Wire.isReset(f, trailers.streamId()), GRACE.plus(Wire.WAIT));
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
      long after = reset.receivedNanos() - callStarted;
      assertTrue(after >= GRACE.toNanos(),
          "the reset came " + after / 1_000_000 + " ms after the call started:\n" + client.describeFrames());
    }
  }

  @Test
  void neverResetsEvenPastTheGrace() {
    try (BootApp app = BootApp.start("--abortguard.reset=never", "--abortguard.reset.grace=600ms");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      Frame trailers = Wire.abortedBidi(client);
      client.assertNoFrame(f -> f.type() == RawHttp2Client.RST_STREAM, GRACE.multipliedBy(2));
      // The guard is Spring Boot's factory, in place, with the lifecycle that serves it.
      assertInstanceOf(GuardedNettyGrpcServerFactory.class, app.grpcServerFactory());
      assertSame(app.context.getBean(NettyGrpcServerFactory.class), app.grpcServerFactory());
      assertTrue(trailers.endStream());
    }
  }
}
