package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A stream the client never closes does not hold up Spring Boot's shutdown: without the guard it
 * would keep the gRPC server running for {@code spring.grpc.server.shutdown.grace-period} (30 s);
 * with it, the lingering stream is reset with NO_ERROR when the server sends GOAWAY.
 */
class ShutdownTest {
  @Test
  void lingeringStreamDoesNotHoldUpShutdown() {
    BootApp app = BootApp.start("--abortguard.reset=deferred", "--abortguard.reset.grace=1m");
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      Frame trailers = Wire.abortedBidi(client); // and the client never ends the stream
      assertEquals(1.0, app.meterRegistry().get("grpc.server.streams.lingering").gauge().value());

      long start = System.nanoTime();
      app.close();
      long tookMillis = (System.nanoTime() - start) / 1_000_000;

      assertTrue(tookMillis < 10_000, "shutdown took " + tookMillis + " ms");
      Frame reset = client.awaitFrame(f -> Wire.isReset(f, trailers.streamId()), Wire.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
    } finally {
      app.close();
    }
  }
}
