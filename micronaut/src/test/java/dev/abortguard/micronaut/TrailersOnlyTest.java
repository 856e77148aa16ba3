package dev.abortguard.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The call layer is on Micronaut's server, outside every interceptor bean: an interceptor bean that
 * sends headers and then aborts still gives one trailers-only HEADERS frame (the guard held the
 * headers back); with {@code abortguard.trailers-only: false} the headers go out first, as in stock.
 */
class TrailersOnlyTest {
  private static final Map<String, String> HEADERS_THEN_ABORT =
      Map.of(AuthInterceptor.ABORT, "PERMISSION_DENIED", AuthInterceptor.HEADERS_FIRST, "true");

  @Test
  void headersSentBeforeAnAbortAreHeldBack() {
    try (MicronautApp app = MicronautApp.start();
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      int id = client.startCall(DemoService.BIDI, HEADERS_THEN_ABORT, false);
      Frame first = client.awaitFrame(id, RawHttp2Client.HEADERS, Wire.WAIT);
      assertTrue(first.endStream(), "one trailers-only HEADERS expected:\n" + client.describeFrames());
      assertEquals("7", first.header("grpc-status"), client.describeFrames());
      assertEquals(1, app.mitigatedReaching(1, "mitigation", "trailers_only"));
      assertEquals(1, app.abortsReaching(1, "response", "trailers_only"));
    }
  }

  @Test
  void withTrailersOnlyOffTheHeadersGoFirst() {
    try (MicronautApp app = MicronautApp.start("abortguard.trailers-only", "false");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      int id = client.startCall(DemoService.BIDI, HEADERS_THEN_ABORT, false);
      Frame first = client.awaitFrame(id, RawHttp2Client.HEADERS, Wire.WAIT);
      assertTrue(!first.endStream(), "headers first expected:\n" + client.describeFrames());
      Frame trailers = client.awaitFrame(f -> f.streamId() == id && f.type() == RawHttp2Client.HEADERS && f.endStream(),
          Wire.WAIT);
      assertEquals("7", trailers.header("grpc-status"), client.describeFrames());
      assertEquals(1, app.abortsReaching(1, "response", "headers_then_trailers"));
    }
  }
}
