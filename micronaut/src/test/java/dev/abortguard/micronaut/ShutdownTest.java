package dev.abortguard.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import org.junit.jupiter.api.Test;

/**
 * A stream the client never closes does not hold up Micronaut's shutdown. Micronaut's gRPC server
 * stops with {@code shutdown()} and then waits up to {@code grpc.server.await-termination} (30 s by
 * default); stock grpc-java waits all of it for such a stream. With the guard the lingering stream is
 * reset with NO_ERROR when the server sends GOAWAY, and the server terminates at once.
 */
class ShutdownTest {
  private static final long AWAIT_MILLIS = 4_000;

  @Test
  void lingeringStreamDoesNotHoldUpShutdown() {
    MicronautApp app = MicronautApp.start("abortguard.reset", "deferred", "abortguard.reset.grace", "1m",
        "grpc.server.await-termination", AWAIT_MILLIS + "ms");
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      Frame trailers = Wire.abortedBidi(client); // and the client never ends the stream
      assertEquals(1, app.lingering());

      long tookMillis = timeClose(app);
      System.out.println("guarded Micronaut shutdown with 1 lingering stream: " + tookMillis + " ms");
      assertTrue(tookMillis < AWAIT_MILLIS / 2, "shutdown took " + tookMillis + " ms");
      Frame reset = client.awaitFrame(f -> Wire.isReset(f, trailers.streamId()), Wire.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
    } finally {
      app.close();
    }
  }

  /** The control: the same stream on an unguarded server holds shutdown for the whole await. */
  @Test
  void stockServerWaitsTheWholeAwaitTermination() {
    MicronautApp app = MicronautApp.start("abortguard.enabled", "false",
        "grpc.server.await-termination", AWAIT_MILLIS + "ms");
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      Wire.abortedBidi(client);
      long tookMillis = timeClose(app);
      System.out.println("stock Micronaut shutdown with 1 lingering stream: " + tookMillis + " ms");
      assertTrue(tookMillis >= AWAIT_MILLIS - 100, "stock shutdown took only " + tookMillis + " ms");
    } finally {
      app.close();
    }
  }

  private static long timeClose(MicronautApp app) {
    long start = System.nanoTime();
    app.close();
    return (System.nanoTime() - start) / 1_000_000;
  }
}
