package dev.abortguard.sample.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.CoreClient.Shape;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stock Vert.x behind nghttpx, which never ends an upstream stream after early trailers: every
 * aborted call keeps its stream open on the server, so once {@value #LIMIT} of them fill
 * MAX_CONCURRENT_STREAMS the next calls wait in nghttpx until their deadline (10 s). The guarded
 * server keeps every status ({@link NeverClosingProxyIT}, transport {@code vertx}).
 */
class VertxStockBehindNghttpxIT {
  static final int LIMIT = 20;
  static final int CALLS = 28;

  @Test
  void aClientThatKeepsAbortingFillsTheConnection(@TempDir Path dir) throws Exception {
    E2eTools.requireProxyTools();
    E2eTools.requireNghttpx();
    CoreClient client = new CoreClient(dir.resolve("client"));
    try (SampleServerProcess server = SampleServerProcess.start(Map.of("abortguard.enabled", "false"),
            List.of("--transport", "vertx", "--max-concurrent-streams", String.valueOf(LIMIT)), dir.resolve("server"));
        NghttpxProcess nghttpx = NghttpxProcess.start(server.port(), dir.resolve("nghttpx"))) {
      Result result = client.run(nghttpx.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, CALLS, 4, PolicyMatrix.ABORT);
      System.out.println("stock vertx behind nghttpx, MAX_CONCURRENT_STREAMS " + LIMIT + ", " + CALLS
          + " aborted bidi calls: " + result.statuses());
      assertEquals(LIMIT, result.count("PERMISSION_DENIED"), "the first " + LIMIT + " get their status: " + result);
      assertEquals(CALLS - LIMIT, result.count("DEADLINE_EXCEEDED"),
          "the rest wait for a slot that never frees: " + result);
    }
  }
}
