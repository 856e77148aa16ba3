package dev.abortguard.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import java.time.Duration;
import java.util.Map;

/** Raw HTTP/2 steps shared by the wire tests. */
final class Wire {
  static final Duration WAIT = Duration.ofSeconds(5);

  private Wire() {}

  /**
   * Starts a bidi call the auth interceptor bean rejects with PERMISSION_DENIED while the client
   * keeps its side open, and returns the server's trailers-only response, checked.
   */
  static Frame abortedBidi(RawHttp2Client client) {
    int id = client.startCall(DemoService.BIDI, Map.of(AuthInterceptor.ABORT, "PERMISSION_DENIED"), false);
    Frame trailers = client.awaitFrame(id, RawHttp2Client.HEADERS, WAIT);
    assertTrue(trailers.endStream(), "trailers-only expected:\n" + client.describeFrames());
    assertEquals("200", trailers.header(":status"), client.describeFrames());
    assertEquals("7", trailers.header("grpc-status"), client.describeFrames());
    assertEquals(AuthInterceptor.DESCRIPTION, trailers.header("grpc-message").replace("%20", " "),
        client.describeFrames());
    return trailers;
  }

  /** Whether {@code frame} is RST_STREAM on {@code streamId}. */
  static boolean isReset(Frame frame, int streamId) {
    return frame.type() == RawHttp2Client.RST_STREAM && frame.streamId() == streamId;
  }
}
