package dev.abortguard.testing;

import static dev.abortguard.testing.RawHttp2Client.DATA;
import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static dev.abortguard.testing.RawHttp2Client.STREAM_CLOSED;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.testing.RawHttp2Client.Frame;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntSupplier;

/**
 * The h2spec cases about frames on a stream the peer already ended or reset, run as h2spec runs
 * them: plaintext, a plain (non-gRPC) {@code GET /}, each case on a fresh connection. Each expects
 * STREAM_CLOSED, as RST_STREAM or GOAWAY. A guarded server must answer every case its stock
 * counterpart answers; the guard's own handling of late frames is for streams it keeps lingering,
 * which these never are.
 */
public final class ConformanceCases {
  /** h2spec waits this long for the error; so does this. */
  private static final Duration WAIT = Duration.ofSeconds(2);
  /** Runs of each case per server: enough that a racy stock answer shows as a failure. */
  private static final int RUNS = 8;

  /** One h2spec case. */
  public enum Case {
    /** half-closed (remote): DATA after the request's END_STREAM. */
    HTTP2_5_1_5("http2/5.1/5") {
      @Override
      void send(RawHttp2Client client) {
        client.sendHeaders(1, get(client), true);
        client.sendData(1, PAYLOAD, true);
      }
    },
    /** half-closed (remote): HEADERS after the request's END_STREAM. */
    HTTP2_5_1_6("http2/5.1/6") {
      @Override
      void send(RawHttp2Client client) {
        client.sendHeaders(1, get(client), true);
        client.sendHeaders(1, Map.of("x-dummy", "dummy"), true);
      }
    },
    /** closed: DATA after the client's RST_STREAM. */
    HTTP2_5_1_8("http2/5.1/8") {
      @Override
      void send(RawHttp2Client client) {
        client.sendHeaders(1, get(client), false);
        client.sendRstStream(1, RawHttp2Client.CANCEL);
        client.sendData(1, PAYLOAD, true);
      }
    },
    /** closed: DATA once both sides ended the stream. */
    HTTP2_5_1_11("http2/5.1/11") {
      @Override
      void send(RawHttp2Client client) {
        client.sendHeaders(1, get(client), true);
        client.awaitFrame(f -> f.streamId() == 1 && f.endStream()
            && (f.type() == HEADERS || f.type() == DATA), Duration.ofSeconds(5));
        client.sendData(1, PAYLOAD, true);
      }
    },
    /** DATA on a stream that is neither open nor half-closed (local). */
    HTTP2_6_1_2("http2/6.1/2") {
      @Override
      void send(RawHttp2Client client) {
        client.sendHeaders(1, get(client), true);
        client.sendData(1, PAYLOAD, true);
      }
    };

    private static final byte[] PAYLOAD = "test".getBytes(StandardCharsets.US_ASCII);
    final String h2spec;

    Case(String h2spec) {
      this.h2spec = h2spec;
    }

    abstract void send(RawHttp2Client client);

    private static Map<String, String> get(RawHttp2Client client) {
      Map<String, String> headers = new LinkedHashMap<>();
      headers.put(":method", "GET");
      headers.put(":scheme", "http");
      headers.put(":path", "/");
      headers.put(":authority", client.authority());
      return headers;
    }
  }

  private ConformanceCases() {}

  /** Runs {@code conformanceCase} on a fresh connection to {@code port}: whether STREAM_CLOSED came back. */
  public static boolean passes(Case conformanceCase, int port) {
    return outcome(conformanceCase, port).passed;
  }

  /** What one run of a case saw: whether it passed, and the frames (for a failure's message). */
  private static final class Outcome {
    final boolean passed;
    final String frames;

    Outcome(boolean passed, String frames) {
      this.passed = passed;
      this.frames = frames;
    }
  }

  private static Outcome outcome(Case conformanceCase, int port) {
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", port)) {
      conformanceCase.send(client);
      boolean passed = client.findFrame(ConformanceCases::isStreamClosedError, WAIT) != null;
      return new Outcome(passed, passed ? "" : client.describeFrames());
    }
  }

  private static boolean isStreamClosedError(Frame frame) {
    return (frame.type() == RST_STREAM && frame.streamId() == 1 || frame.type() == GOAWAY)
        && frame.errorCode() == STREAM_CLOSED;
  }

  /**
   * Asserts the guarded server passes every case its stock counterpart passes, each run beside the
   * other. A case counts as passed by stock only if stock passes it every one of {@value #RUNS}
   * times: some stacks' answer is a race (Armeria answers 5.1/6 with PROTOCOL_ERROR when its
   * response has not left yet), and a case stock fails, such as Netty's answer to 5.1/6, is no
   * worse for the guard to fail. The guarded server must then pass it every time too.
   */
  public static void assertNoWorseThanStock(IntSupplier stockPort, IntSupplier guardedPort) {
    StringBuilder stockResults = new StringBuilder();
    StringBuilder worse = new StringBuilder();
    for (Case c : Case.values()) {
      boolean stockPasses = true;
      for (int run = 0; run < RUNS && stockPasses; run++) {
        stockPasses = outcome(c, stockPort.getAsInt()).passed;
      }
      stockResults.append(c.h2spec).append(stockPasses ? " passed" : " FAILED").append("; ");
      for (int run = 0; run < RUNS && stockPasses; run++) {
        Outcome guarded = outcome(c, guardedPort.getAsInt());
        if (!guarded.passed) {
          worse.append(c.h2spec).append(" passes stock, fails guarded (run ").append(run + 1)
              .append("); the guarded connection saw:\n").append(guarded.frames).append('\n');
          break;
        }
      }
    }
    assertEquals("", worse.toString(), "h2spec cases; stock passes: " + stockResults);
  }


}
