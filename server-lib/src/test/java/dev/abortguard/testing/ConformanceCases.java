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
import java.util.EnumMap;
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
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", port)) {
      conformanceCase.send(client);
      return client.findFrame(ConformanceCases::isStreamClosedError, WAIT) != null;
    }
  }

  private static boolean isStreamClosedError(Frame frame) {
    return (frame.type() == RST_STREAM && frame.streamId() == 1 || frame.type() == GOAWAY)
        && frame.errorCode() == STREAM_CLOSED;
  }

  /** Every case on {@code port}: passed or failed. */
  public static Map<Case, Boolean> run(int port) {
    Map<Case, Boolean> results = new EnumMap<>(Case.class);
    for (Case c : Case.values()) {
      results.put(c, passes(c, port));
    }
    return results;
  }

  /**
   * Asserts the guarded server passes every case its stock counterpart passes, each run beside the
   * other (a case stock fails, such as Netty's answer to 5.1/6, is no worse for the guard to fail).
   */
  public static void assertNoWorseThanStock(IntSupplier stockPort, IntSupplier guardedPort) {
    Map<Case, Boolean> stock = run(stockPort.getAsInt());
    Map<Case, Boolean> guarded = run(guardedPort.getAsInt());
    Map<Case, Boolean> expected = new EnumMap<>(Case.class);
    stock.forEach((c, passed) -> expected.put(c, passed || guarded.get(c)));
    assertEquals(describe(expected), describe(guarded),
        "h2spec cases on the guarded server, against what the stock server passes: " + describe(stock));
  }

  private static String describe(Map<Case, Boolean> results) {
    StringBuilder text = new StringBuilder();
    results.forEach((c, passed) -> text.append(c.h2spec).append(passed ? " passed" : " FAILED").append('\n'));
    return text.toString();
  }
}
