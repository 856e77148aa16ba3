package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.eclipse.microprofile.config.ConfigProvider;

/** What the tests need of the running Quarkus application: its ports, raw HTTP/2 steps, its scrape. */
final class QuarkusApp {
  static final Duration WAIT = Duration.ofSeconds(5);
  /**
   * grpcio calls per connection on the unified server: fewer than the 200 RST_STREAM per 30 s past which
   * Vert.x's reset-flood protection closes the connection (grpcio resets each aborted stream it was still
   * sending on; measured in {@code UnifiedServerDisabledTest}).
   */
  static final int UNIFIED_DIRECT_CALLS = 150;

  private QuarkusApp() {}

  /** The separate gRPC server's actual port (configured 0: quarkus-grpc registers the bound one). */
  static int grpcPort() {
    int port = ConfigProvider.getConfig().getValue("quarkus.grpc.server.test-port", Integer.class);
    assertTrue(port > 0, "quarkus-grpc did not register its bound test port: " + port);
    return port;
  }

  /** The HTTP server's actual port, for /q/metrics. */
  static int httpPort() {
    return ConfigProvider.getConfig().getValue("quarkus.http.test-port", Integer.class);
  }

  /**
   * Starts a bidi call the application's auth interceptor rejects with PERMISSION_DENIED while the
   * client keeps its side open, and returns the checked trailers-only response.
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

  static boolean isReset(Frame frame, int streamId) {
    return frame.type() == RawHttp2Client.RST_STREAM && frame.streamId() == streamId;
  }

  /** The Prometheus scrape at /q/metrics. */
  static String scrape() {
    try {
      HttpResponse<String> response = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort() + "/q/metrics")).timeout(WAIT).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), response.body());
      return response.body();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** How much the samples of {@code name} matching {@code labels} grew from {@code before} to {@code after}. */
  static double delta(String before, String after, String name, String... labels) {
    return sample(after, name, labels) - sample(before, name, labels);
  }

  /** The sum of the samples of {@code name} in {@code scrape} whose labels hold every {@code label="value"} given. */
  static double sample(String scrape, String name, String... labels) {
    double sum = 0;
    for (String line : scrape.split("\n")) {
      if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) {
        continue;
      }
      boolean all = true;
      for (String label : labels) {
        all &= line.contains(label);
      }
      if (all) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }
}
