package dev.abortguard.hostile;

import static dev.abortguard.testing.RawHttp2Client.CONTINUATION;
import static dev.abortguard.testing.RawHttp2Client.DATA;
import static dev.abortguard.testing.RawHttp2Client.FLAG_ACK;
import static dev.abortguard.testing.RawHttp2Client.FLAG_END_HEADERS;
import static dev.abortguard.testing.RawHttp2Client.FLAG_END_STREAM;
import static dev.abortguard.testing.RawHttp2Client.FLAG_PADDED;
import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.PING;
import static dev.abortguard.testing.RawHttp2Client.PRIORITY;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static dev.abortguard.testing.RawHttp2Client.SETTINGS;
import static dev.abortguard.testing.RawHttp2Client.WINDOW_UPDATE;

import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.Await;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.BooleanSupplier;

/**
 * One fuzzed connection: a random sequence of frame bursts from a seeded {@link Random}, with a
 * model of what the client sent and what it saw, and the checks that follow from it. Problems are
 * collected as {@link #findings}, each naming the connection and seed and carrying the operations
 * and the frames on the wire, rather than thrown, so that one run reports all it finds.
 *
 * <p>The model keeps, per connection, whether any frame sent so far allows the server to end the
 * whole connection ({@link #mayBreakBecause}): frames that HTTP/2 makes a connection error (on
 * idle streams, stream 0 where not allowed, malformed frames), frames after the client's own
 * END_STREAM (RFC 9113 §5.1 allows a connection error STREAM_CLOSED there), and a few that
 * stacks treat as abuse. As long as none was sent, the connection must live and serve a call.
 */
final class FuzzConnection {
  static final Duration WAIT = Duration.ofSeconds(5);
  private static final String[] ABORT_CODES = {
    "PERMISSION_DENIED", "PERMISSION_DENIED", "PERMISSION_DENIED", "UNAUTHENTICATED", "RESOURCE_EXHAUSTED",
    "INVALID_ARGUMENT"
  };

  private final ServerUnderTest server;
  private final ResetPolicy policy;
  private final Duration grace;
  final String id;
  final long seed;
  private final Random rnd;

  private RawHttp2Client client;
  private final Map<Integer, Call> calls = new LinkedHashMap<>();
  private int nextStreamId = 1;
  private String mayBreakBecause;
  /** Whether this connection may send frames that allow a connection error at all. */
  private boolean wild;
  private int burstIndex;
  private boolean closedByClient;
  private boolean clientSentGoAway;
  private int emptyDataRun;
  private long connectionWindowReturned;
  private int rawDataBytes;
  private final List<String> ops = new ArrayList<>();
  /** Lingering streams that were sent a frame HTTP/2 makes a stream error, and that frame. */
  private final Map<Integer, String> expectedResets = new LinkedHashMap<>();

  final List<String> findings = new ArrayList<>();
  int sequences;
  int framesSent;
  int framesReceived;
  boolean serverClosed;
  boolean stayedUsable;
  String serverGoAway;
  double lingered;
  int certainLingerers;

  /** What the client did on one stream it opened. */
  private static final class Call {
    final int id;
    final String kind;
    boolean openedWithEnd;
    /** When the client started sending the stream's HEADERS. */
    final long openedNanos = System.nanoTime();
    boolean clientEnded;
    boolean clientReset;
    long clientDoneNanos = Long.MAX_VALUE;
    int dataBytes;
    boolean flooded;

    Call(int id, String kind) {
      this.id = id;
      this.kind = kind;
    }

    boolean clientDone() {
      return clientEnded || clientReset;
    }
  }

  /** What the client has received, per stream. */
  private static final class Wire {
    final Map<Integer, Frame> end = new HashMap<>();
    /** The last RST_STREAM received per stream. */
    final Map<Integer, Frame> rst = new HashMap<>();
    /** RST_STREAM(NO_ERROR) frames that followed the stream's END_STREAM: the guard's resets. */
    int guardResets;
    int noErrorResets;
    Frame goAway;
    long dataBytes;

    Wire(List<Frame> frames) {
      for (Frame f : frames) {
        if (f.endStream()) {
          end.putIfAbsent(f.streamId(), f);
        }
        if (f.type() == RST_STREAM) {
          rst.put(f.streamId(), f);
          if (f.errorCode() == NO_ERROR) {
            noErrorResets++;
            if (end.containsKey(f.streamId())) {
              guardResets++;
            }
          }
        }
        if (f.type() == GOAWAY && goAway == null) {
          goAway = f;
        }
        if (f.type() == DATA) {
          dataBytes += f.payload().length;
        }
      }
    }
  }

  private enum Cat { OPEN, LINGERING, HALF_CLOSED, CLOSED }

  /** Thrown to stop the operations once the connection is gone. */
  private static final class ConnectionGone extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ConnectionGone(String why) {
      super(why, null, false, false);
    }
  }

  FuzzConnection(ServerUnderTest server, ResetPolicy policy, Duration grace, String id, long seed) {
    this.server = server;
    this.policy = policy;
    this.grace = grace;
    this.id = id;
    this.seed = seed;
    this.rnd = new Random(seed);
  }

  void run() {
    boolean metered = server.guarded();
    Map<ReleaseCause, Double> releasedBefore = releasedByCause();
    double misconfiguredBefore = misconfigured();
    if (metered && server.lingering() != 0) {
      finding("lingering gauge is " + server.lingering() + " before the connection opened");
    }
    client = server.connect();
    try {
      try {
        sequences = 8 + rnd.nextInt(9);
        wild = rnd.nextInt(100) < 40;
        op("-- %d bursts, %s", sequences, wild ? "wild (may send frames that allow a connection error)" : "legal");
        for (int s = 0; s < sequences && usable(); s++) {
          burstIndex = s;
          int burst = 1 + rnd.nextInt(5);
          for (int i = 0; i < burst && usable(); i++) {
            step();
          }
        }
        checkConnectionLives("after the random sequences");
        end();
      } catch (ConnectionGone gone) {
        op("-- connection gone: " + gone.getMessage());
        checkConnectionLives("when " + gone.getMessage());
      } catch (AssertionError | RuntimeException e) {
        finding("unexpected failure in the test client: " + ServerProblems.stackTrace(e));
      }
      Wire wire = wire();
      framesReceived = client.frames().size();
      serverClosed = client.isClosed() && !closedByClient;
      if (wire.goAway != null) {
        serverGoAway = RawHttp2Client.errorCodeName(wire.goAway.errorCode()) + describeGoAway(wire.goAway);
      }
    } finally {
      client.close();
    }
    if (metered) {
      checkMetersAfterClose(releasedBefore);
      if (misconfigured() != misconfiguredBefore) {
        finding("abortguard.misconfigured counted " + fmt(misconfigured() - misconfiguredBefore)
            + " on a correctly built server: " + server.registry.find("abortguard.misconfigured").counters().stream()
                .filter(c -> c.count() > 0).map(c -> c.getId().getTag("problem") + "=" + fmt(c.count()))
                .collect(java.util.stream.Collectors.joining(", ")));
      }
    }
  }

  private double misconfigured() {
    return server.registry.find("abortguard.misconfigured").counters().stream().mapToDouble(c -> c.count()).sum();
  }

  // ------------------------------------------------------------------------------ operations

  private void step() {
    int roll = rnd.nextInt(1000);
    if ((roll -= 200) < 0) {
      newCall();
    } else if ((roll -= 170) < 0) {
      data();
    } else if ((roll -= 60) < 0) {
      requestTrailers();
    } else if ((roll -= 40) < 0) {
      headersWithoutEndStream();
    } else if ((roll -= 100) < 0) {
      rstStream();
    } else if ((roll -= 80) < 0) {
      windowUpdate();
    } else if ((roll -= 50) < 0) {
      priority();
    } else if ((roll -= 40) < 0) {
      ping();
    } else if ((roll -= 40) < 0) {
      settings();
    } else if ((roll -= 40) < 0) {
      unknownFrame();
    } else if ((roll -= 8) < 0) {
      orphanContinuation();
    } else if ((roll -= 7) < 0) {
      oversizedFrame();
    } else if ((roll -= 70) < 0) {
      guarded("SYNC", () -> client.sync());
    } else if ((roll -= 40) < 0) {
      checkGauge("random check");
    } else if ((roll -= 15) < 0) {
      flood();
    } else if ((roll -= 15) < 0) {
      waitForGrace();
    } else if ((roll -= 3) < 0) {
      clientGoAway();
    } else if ((roll -= 3) < 0) {
      abruptClose();
    } else {
      newCall();
    }
  }

  private void newCall() {
    int streamId = nextStreamId;
    nextStreamId += 2;
    String kind = pickKind();
    Map<String, String> headers = requestHeaders(kind);
    Call call = new Call(streamId, kind);
    calls.put(streamId, call);
    boolean end = rnd.nextInt(5) == 0;
    call.openedWithEnd = end;
    if (end) {
      markEnded(call);
    }
    if (rnd.nextInt(5) == 0) {
      int continuations = rnd.nextInt(3);
      int padding = rnd.nextInt(3) == 0 ? 1 + rnd.nextInt(32) : 0;
      int dependsOn = rnd.nextInt(3) == 0 ? dependencyFor(streamId) : -1;
      int weight = rnd.nextInt(256);
      op("HEADERS(raw, +%d CONTINUATION, pad %d, dep %d) s=%d %s%s", continuations, padding, dependsOn, streamId,
          kind, end ? " END_STREAM" : "");
      framesSent += guarded(() -> RawFrames.sendHeaderBlock(client, streamId, RawFrames.literalHeaderBlock(headers),
          continuations, end, padding, dependsOn, weight));
    } else {
      op("HEADERS s=%d %s%s", streamId, kind, end ? " END_STREAM" : "");
      guarded(() -> client.sendHeaders(streamId, headers, end));
      framesSent++;
    }
    if (!end && rnd.nextBoolean() && (!rejectedBeforeCreation(call) || mayBreakNow())) {
      breaksOnRejected(call, "DATA");
      byte[] message = randomBytes(rnd.nextInt(100));
      boolean endNow = rnd.nextInt(5) == 0;
      op("  DATA(message %d B) s=%d%s", message.length, streamId, endNow ? " END_STREAM" : "");
      if (endNow) {
        markEnded(call);
      }
      guarded(() -> client.sendMessage(streamId, message, endNow));
      call.dataBytes += message.length + 5;
      framesSent++;
    }
    if (kind.startsWith("abort") && rnd.nextBoolean()) {
      op("  await the abort's answer on s=%d", streamId);
      try {
        awaitOnStream(streamId, "an answer to the aborted call", f -> f.endStream() || f.type() == RST_STREAM);
      } catch (AssertionError e) {
        if (mayBreakBecause == null) {
          throw e;
        }
        op("  (no answer: %s)", firstLine(e));
      }
    }
  }

  private String pickKind() {
    int roll = rnd.nextInt(100);
    if (roll < 35) {
      return "abort:" + ABORT_CODES[rnd.nextInt(ABORT_CODES.length)];
    } else if (roll < 42) {
      return "abort-unary:" + ABORT_CODES[rnd.nextInt(ABORT_CODES.length)];
    } else if (roll < 65) {
      return "echo";
    } else if (roll < 72) {
      return "unary";
    } else if (roll < 76) {
      return "client-stream";
    } else if (roll < 81) {
      return "unimplemented";
    } else if (roll < 86) {
      return "reset-early";
    } else if (roll < 90) {
      return "no-content-type";
    } else if (roll < 93) {
      return "text-content-type";
    } else if (roll < 96) {
      return "connection-header";
    } else {
      return "path-without-slash";
    }
  }

  private Map<String, String> requestHeaders(String kind) {
    Map<String, String> headers = new LinkedHashMap<>();
    String path = TestServers.path(TestServers.BIDI);
    if (kind.startsWith("abort-unary") || kind.equals("unary")) {
      path = TestServers.path(TestServers.UNARY);
    } else if (kind.equals("client-stream")) {
      path = TestServers.path(TestServers.CLIENT_STREAM);
    } else if (kind.equals("unimplemented")) {
      path = "/test.Echo/Missing";
    } else if (kind.equals("path-without-slash")) {
      path = "test.Echo/Bidi";
    }
    headers.put(":method", "POST");
    headers.put(":scheme", "http");
    headers.put(":path", path);
    headers.put(":authority", "127.0.0.1:" + server.port());
    if (kind.equals("text-content-type")) {
      headers.put("content-type", "text/plain");
    } else if (!kind.equals("no-content-type")) {
      headers.put("content-type", "application/grpc");
    }
    headers.put("te", "trailers");
    if (kind.startsWith("abort")) {
      headers.put(TestServers.ABORT_HEADER, kind.substring(kind.indexOf(':') + 1));
    } else if (kind.equals("reset-early")) {
      headers.put("x-test-reset-early", "1");
    } else if (kind.equals("connection-header")) {
      headers.put("connection", "keep-alive");
    }
    return headers;
  }

  private void data() {
    boolean breaking = mayBreakNow();
    Call call = pickCall(70, 20, breaking);
    int streamId;
    if (call == null) {
      if (!breaking) {
        newCall();
        return;
      }
      streamId = idleStreamId();
      breaks("DATA on idle stream " + streamId);
    } else {
      streamId = call.id;
      if (call.clientEnded) {
        breaks("DATA after the client's END_STREAM on stream " + streamId);
      }
      breaksOnRejected(call, "DATA");
    }
    int kind = rnd.nextInt(10);
    byte[] payload = kind < 6 ? RawHttp2Client.lengthPrefixed(randomBytes(rnd.nextInt(200)))
        : kind < 9 ? randomBytes(1 + rnd.nextInt(300)) : new byte[0];
    if (call != null && call.dataBytes + payload.length > 30_000) {
      payload = new byte[0];
    }
    boolean end = rnd.nextInt(10) < 3;
    if (payload.length == 0 && !end && emptyDataRun >= 2 && !breaking) {
      payload = RawHttp2Client.lengthPrefixed(new byte[0]);
    }
    if (payload.length == 0 && !end && ++emptyDataRun > 2) {
      breaks("more than two empty DATA frames in a row (Netty's flood protection)");
    } else if (payload.length > 0 || end) {
      emptyDataRun = 0;
    }
    if (call != null && end) {
      markEnded(call);
    }
    if (call != null) {
      call.dataBytes += payload.length;
    }
    byte[] bytes = payload;
    if (rnd.nextInt(10) == 0 && rawDataBytes < 4_000) {
      boolean invalid = breaking && rnd.nextInt(3) == 0;
      int padding = invalid ? bytes.length + 1 + rnd.nextInt(10) : rnd.nextInt(20);
      byte[] raw = invalid ? RawFrames.paddedData(bytes, 0) : RawFrames.paddedData(bytes, padding);
      if (invalid) {
        raw[0] = (byte) Math.min(255, padding);
        breaks("DATA whose padding exceeds its payload");
      }
      rawDataBytes += raw.length;
      op("DATA(raw padded%s %d B) s=%d%s", invalid ? " INVALID" : "", raw.length, streamId, end ? " END_STREAM" : "");
      guarded(() -> client.sendRawFrame(DATA, FLAG_PADDED | (end ? FLAG_END_STREAM : 0), streamId, raw));
    } else {
      op("DATA %d B s=%d (%s)%s", bytes.length, streamId, describe(call), end ? " END_STREAM" : "");
      guarded(() -> client.sendData(streamId, bytes, end));
    }
    framesSent++;
  }

  private void requestTrailers() {
    Call call = pickHeadersTarget(80, 20);
    if (call == null) {
      return;
    }
    if (call.clientEnded) {
      breaks("HEADERS after the client's END_STREAM on stream " + call.id);
    }
    breaksOnRejected(call, "HEADERS");
    breaksOnOpenGrpcStream(call);
    String category = describe(call);
    markEnded(call);
    Map<String, String> trailers = new LinkedHashMap<>();
    trailers.put("x-request-trailer", Integer.toString(rnd.nextInt(1000)));
    if (rnd.nextInt(3) == 0) {
      op("HEADERS(raw trailers, +1 CONTINUATION) s=%d (%s) END_STREAM", call.id, category);
      framesSent += guarded(() -> RawFrames.sendHeaderBlock(client, call.id, RawFrames.literalHeaderBlock(trailers),
          1, true, 0, -1, 0));
    } else {
      op("HEADERS(trailers) s=%d (%s) END_STREAM", call.id, category);
      guarded(() -> client.sendHeaders(call.id, trailers, true));
      framesSent++;
    }
  }

  private void headersWithoutEndStream() {
    Call call = pickHeadersTarget(85, 15);
    if (call == null) {
      return;
    }
    if (call.clientEnded) {
      breaks("HEADERS after the client's END_STREAM on stream " + call.id);
    }
    breaksOnRejected(call, "HEADERS");
    breaksOnOpenGrpcStream(call);
    op("HEADERS(no END_STREAM) s=%d (%s)", call.id, describe(call));
    expectStreamError(call, "HEADERS without END_STREAM after the request's HEADERS (RFC 9113 §8.1.1)");
    guarded(() -> client.sendHeaders(call.id, Map.of("x-second-headers", "1"), false));
    framesSent++;
  }

  private void rstStream() {
    boolean breaking = mayBreakNow();
    Call call = pickCall(80, 15, breaking);
    int streamId;
    if (call == null) {
      if (!breaking) {
        return;
      }
      streamId = idleStreamId();
      breaks("RST_STREAM on idle stream " + streamId);
    } else {
      streamId = call.id;
      if (call.clientEnded && category(call, wire()) == Cat.CLOSED) {
        breaks("RST_STREAM on a stream closed by both ends");
      }
      breaksOnRejected(call, "RST_STREAM");
    }
    long code = rnd.nextInt(10) < 7 ? rnd.nextInt(14) : rnd.nextInt() & 0xffffffffL;
    op("RST_STREAM s=%d (%s) %s", streamId, describe(call), RawHttp2Client.errorCodeName(code));
    if (call != null && !call.clientDone()) {
      call.clientDoneNanos = System.nanoTime();
    }
    if (call != null) {
      call.clientReset = true;
    }
    guarded(() -> client.sendRstStream(streamId, code));
    framesSent++;
  }

  private void windowUpdate() {
    if (rnd.nextInt(100) < 15) {
      long available = wire().dataBytes - connectionWindowReturned;
      long increment;
      boolean breaking = mayBreakNow();
      if (available > 0 && (!breaking || rnd.nextInt(3) > 0)) {
        increment = 1 + (long) (rnd.nextDouble() * available);
        connectionWindowReturned += increment;
      } else {
        if (!breaking) {
          return;
        }
        increment = rnd.nextBoolean() ? 0 : 0x7fffffffL;
        breaks("connection WINDOW_UPDATE of " + increment);
      }
      op("WINDOW_UPDATE s=0 +%d", increment);
      guarded(() -> client.sendRawFrame(WINDOW_UPDATE, 0, 0, RawFrames.windowUpdate(increment)));
      framesSent++;
      return;
    }
    boolean breaking = mayBreakNow();
    Call call = pickCall(75, 15, breaking);
    int streamId;
    if (call == null) {
      if (!breaking) {
        return;
      }
      streamId = idleStreamId();
      breaks("WINDOW_UPDATE on idle stream " + streamId);
    } else {
      streamId = call.id;
      if (call.clientEnded && category(call, wire()) == Cat.CLOSED) {
        breaks("WINDOW_UPDATE on a stream closed by both ends");
      }
      breaksOnRejected(call, "WINDOW_UPDATE");
    }
    int roll = rnd.nextInt(100);
    long increment = roll < 30 ? 0 : roll < 70 ? 1 + rnd.nextInt(65_535) : roll < 85 ? 0x7fffffffL
        : rnd.nextInt() & 0x7fffffffL;
    op("WINDOW_UPDATE s=%d (%s) +%d", streamId, describe(call), increment);
    if (increment == 0 && call != null) {
      expectStreamError(call, "WINDOW_UPDATE with increment 0 (RFC 9113 §6.9)");
    }
    guarded(() -> client.sendRawFrame(WINDOW_UPDATE, 0, streamId, RawFrames.windowUpdate(increment)));
    framesSent++;
  }

  private void priority() {
    int roll = mayBreakNow() ? rnd.nextInt(100) : rnd.nextInt(93);
    int streamId = rnd.nextInt(4) == 0 ? idleStreamId() : anyStreamId();
    byte[] payload;
    if (roll < 85) {
      payload = RawFrames.priority(rnd.nextBoolean(), dependencyFor(streamId), rnd.nextInt(256));
    } else if (roll < 93 && calls.containsKey(streamId)) {
      // Depends on itself: a stream error. Only on streams already opened: on an idle stream
      // Netty answers RST_STREAM(PROTOCOL_ERROR) and then still lets HEADERS open that stream.
      payload = RawFrames.priority(false, streamId, rnd.nextInt(256));
    } else if (roll < 93) {
      payload = RawFrames.priority(false, dependencyFor(streamId), rnd.nextInt(256));
    } else if (roll < 98) {
      payload = randomBytes(rnd.nextBoolean() ? 4 : 6);
      breaks("PRIORITY of " + payload.length + " bytes (a stream error by RFC 9113, stacks differ)");
    } else {
      streamId = 0;
      payload = RawFrames.priority(false, 1, 16);
      breaks("PRIORITY on stream 0");
    }
    int target = streamId;
    op("PRIORITY s=%d len=%d", target, payload.length);
    if (roll >= 85 && roll < 93 && calls.containsKey(target) && payload.length == 5) {
      expectStreamError(calls.get(target), "PRIORITY on which the stream depends on itself (RFC 9113 §5.3.1)");
    }
    guarded(() -> client.sendRawFrame(PRIORITY, 0, target, payload));
    framesSent++;
  }

  private void ping() {
    int roll = mayBreakNow() ? rnd.nextInt(100) : rnd.nextInt(90);
    if (roll < 80) {
      long data = rnd.nextLong() & 0x00ffffffffffffffL; // never one of sync()'s values
      op("PING %x", data);
      guarded(() -> client.sendPing(data));
    } else if (roll < 90) {
      op("PING ACK (unsolicited)");
      guarded(() -> client.sendRawFrame(PING, FLAG_ACK, 0, randomBytes(8)));
    } else if (roll < 95) {
      breaks("PING of 7 bytes");
      op("PING len=7");
      guarded(() -> client.sendRawFrame(PING, 0, 0, randomBytes(7)));
    } else {
      breaks("PING on stream 1");
      op("PING s=1");
      guarded(() -> client.sendRawFrame(PING, 0, 1, randomBytes(8)));
    }
    framesSent++;
  }

  private void settings() {
    int roll = mayBreakNow() ? rnd.nextInt(100) : rnd.nextInt(85);
    byte[] payload;
    int flags = 0;
    if (roll < 85) {
      List<Long> pairs = new ArrayList<>();
      int count = rnd.nextInt(4);
      for (int i = 0; i < count; i++) {
        switch (rnd.nextInt(6)) {
          case 0:
            pairs.add(0x1L);
            pairs.add(rnd.nextBoolean() ? 0L : 4096L);
            break;
          case 1:
            pairs.add(0x2L);
            pairs.add(0L);
            break;
          case 2:
            pairs.add(0x3L);
            pairs.add((long) rnd.nextInt(1000));
            break;
          case 3:
            pairs.add(0x5L);
            pairs.add(16_384L + rnd.nextInt(16_777_215 - 16_384 + 1));
            break;
          case 4:
            pairs.add(0x6L);
            pairs.add(16_384L + rnd.nextInt(1 << 20));
            break;
          default:
            pairs.add(0x10L + rnd.nextInt(0xff00));
            pairs.add(rnd.nextInt() & 0xffffffffL);
        }
      }
      payload = RawFrames.settings(pairs.stream().mapToLong(Long::longValue).toArray());
      op("SETTINGS %s", pairs);
    } else {
      int kind = rnd.nextInt(5);
      if (kind == 0) {
        payload = RawFrames.settings(0x2, 2);
      } else if (kind == 1) {
        payload = RawFrames.settings(0x4, 0x80000000L);
      } else if (kind == 2) {
        payload = RawFrames.settings(0x5, 100);
      } else if (kind == 3) {
        payload = randomBytes(5);
      } else {
        payload = RawFrames.settings(0x4, rnd.nextInt(65_535)); // legal, but may stall the server's DATA
      }
      if (rnd.nextBoolean() && kind != 4) {
        flags = FLAG_ACK;
      }
      breaks("SETTINGS that is invalid or stalls the server");
      op("SETTINGS(bad %d)%s len=%d", kind, flags == FLAG_ACK ? " ACK" : "", payload.length);
    }
    int f = flags;
    guarded(() -> client.sendRawFrame(SETTINGS, f, 0, payload));
    framesSent++;
  }

  private void unknownFrame() {
    int type = 0x0a + rnd.nextInt(0xff - 0x0a + 1);
    int roll = rnd.nextInt(4);
    int streamId = roll == 0 ? 0 : roll == 1 ? idleStreamId() : anyStreamId();
    byte[] payload = randomBytes(rnd.nextInt(65));
    int flags = rnd.nextInt(256);
    op("UNKNOWN(0x%x) s=%d flags=0x%x len=%d", type, streamId, flags, payload.length);
    guarded(() -> client.sendRawFrame(type, flags, streamId, payload));
    framesSent++;
  }

  private void orphanContinuation() {
    if (!mayBreakNow()) {
      unknownFrame();
      return;
    }
    int streamId = anyStreamId();
    breaks("CONTINUATION without HEADERS");
    op("CONTINUATION(orphan) s=%d", streamId);
    guarded(() -> client.sendRawFrame(CONTINUATION, FLAG_END_HEADERS, streamId, RawFrames.literalHeaderBlock(
        Map.of("x-orphan", "1"))));
    framesSent++;
  }

  private void oversizedFrame() {
    if (!mayBreakNow()) {
      unknownFrame();
      return;
    }
    int streamId = anyStreamId();
    breaks("a DATA frame larger than SETTINGS_MAX_FRAME_SIZE");
    op("DATA(oversized 16385 B) s=%d", streamId);
    guarded(() -> client.sendRawFrame(DATA, 0, streamId, new byte[16_385]));
    framesSent++;
  }

  /**
   * Under {@code never}: more DATA on a lingering stream than the server's windows hold, so that
   * it only goes through if the server returns the window for DATA nobody reads.
   */
  private void flood() {
    if (policy != ResetPolicy.NEVER || !server.guarded()) {
      return;
    }
    Wire wire = wire();
    Call call = calls.values().stream()
        .filter(c -> category(c, wire) == Cat.LINGERING && !c.flooded)
        .findFirst().orElse(null);
    if (call == null) {
      return;
    }
    call.flooded = true;
    int total = 24_000 + rnd.nextInt(72_000);
    op("FLOOD %d B of DATA on lingering s=%d", total, call.id);
    for (int sent = 0; sent < total; sent += 8_000) {
      byte[] chunk = randomBytes(Math.min(8_000, total - sent));
      try {
        client.sendData(call.id, chunk, false);
        framesSent++;
      } catch (IllegalStateException e) {
        if (client.isClosed()) {
          throw new ConnectionGone("closed during the flood");
        }
        finding("flow control stalled: no WINDOW_UPDATE within 5 s for DATA on lingering stream " + call.id
            + " after " + sent + " of " + total + " bytes: " + firstLine(e));
        throw new ConnectionGone("flow control stalled");
      } catch (UncheckedIOException e) {
        throw new ConnectionGone("write failed during the flood");
      }
    }
  }

  /** Under {@code deferred}: lingering streams get RST_STREAM(NO_ERROR), not before the grace. */
  private void waitForGrace() {
    if (policy != ResetPolicy.DEFERRED || !server.guarded()) {
      return;
    }
    Wire wire = wire();
    List<Call> lingering = new ArrayList<>();
    for (Call call : calls.values()) {
      if (category(call, wire) == Cat.LINGERING) {
        lingering.add(call);
      }
    }
    if (lingering.isEmpty()) {
      return;
    }
    op("WAIT for the grace on %d lingering stream(s)", lingering.size());
    for (Call call : lingering) {
      Frame end = wire.end.get(call.id);
      Frame rst = awaitOnStream(call.id, "the guard's reset after the grace", f -> f.type() == RST_STREAM);
      if (rst.errorCode() != NO_ERROR) {
        continue; // the server's own stack reset it first (a stream error)
      }
      long afterEnd = rst.receivedNanos() - end.receivedNanos();
      if (afterEnd < grace.toNanos() - Duration.ofMillis(50).toNanos()) {
        finding("RST_STREAM(NO_ERROR) on stream " + call.id + " only " + afterEnd / 1_000_000
            + " ms after its END_STREAM, grace " + grace.toMillis() + " ms");
      }
    }
  }

  private void clientGoAway() {
    long code = rnd.nextBoolean() ? NO_ERROR : rnd.nextInt(14);
    int last = rnd.nextBoolean() ? 0 : rnd.nextInt(100);
    breaks("the client sent GOAWAY");
    clientSentGoAway = true;
    op("GOAWAY last=%d %s", last, RawHttp2Client.errorCodeName(code));
    guarded(() -> client.sendGoAway(last, code));
    framesSent++;
  }

  private void abruptClose() {
    op("CLOSE the socket");
    closedByClient = true;
    client.close();
    throw new ConnectionGone("closed by the client");
  }

  // ---------------------------------------------------------------------------- the ending

  private void end() {
    if (!usable()) {
      return;
    }
    if (mayBreakBecause == null) {
      op("ECHO on the same connection");
      if (!expectedResets.isEmpty()) {
        guarded("SYNC", () -> client.sync());
        checkExpectedResets();
      }
      try {
        int streamId = nextStreamId;
        nextStreamId += 2;
        Call call = new Call(streamId, "final echo");
        calls.put(streamId, call);
        guarded(() -> client.sendHeaders(streamId, requestHeaders("echo"), false));
        markEnded(call);
        ServerUnderTest.assertEchoCall(client, streamId, id);
        stayedUsable = true;
      } catch (AssertionError e) {
        if (client.isClosed()) {
          throw new ConnectionGone("closed during the echo call");
        }
        finding("the connection no longer serves a call, though no frame sent allows a connection error: "
            + firstLine(e));
      }
      checkConnectionLives("after the echo call");
    }
    int roll = rnd.nextInt(100);
    if (roll < 35) {
      abruptClose();
    } else if (roll < 65) {
      endEveryStream();
    } else if (roll < 80) {
      clientGoAway();
      closedByClient = true;
    } else {
      checkGauge("at the end");
      if (policy == ResetPolicy.DEFERRED) {
        waitForGrace();
        checkGauge("after the grace");
      }
    }
  }

  /** The client ends or resets every stream it has open: nothing may linger afterwards. */
  private void endEveryStream() {
    Wire wire = wire();
    int ended = 0;
    for (Call call : calls.values()) {
      if (call.clientDone() || rejectedBeforeCreation(call)) {
        continue;
      }
      Cat cat = category(call, wire);
      boolean reset = rnd.nextInt(10) < 3;
      op("END s=%d (%s) with %s", call.id, cat, reset ? "RST_STREAM(CANCEL)" : "empty DATA END_STREAM");
      if (reset) {
        call.clientDoneNanos = System.nanoTime();
        call.clientReset = true;
        guarded(() -> client.sendRstStream(call.id, RawHttp2Client.CANCEL));
      } else {
        markEnded(call);
        guarded(() -> client.sendData(call.id, new byte[0], true));
      }
      framesSent++;
      ended++;
    }
    op("ended %d stream(s)", ended);
    if (server.guarded()) {
      guarded("SYNC", () -> client.sync());
      if (!waitFor(() -> server.lingering() == 0, WAIT)) {
        finding("the client ended every stream, yet the lingering gauge reads " + server.lingering());
      }
    }
  }

  // ------------------------------------------------------------------------------------ checks

  /** Unless a frame sent allows it, the server must not have ended the connection. */
  private void checkConnectionLives(String when) {
    if (closedByClient || clientSentGoAway) {
      return;
    }
    Wire wire = wire();
    boolean closed = client.isClosed();
    if ((closed || wire.goAway != null) && mayBreakBecause == null) {
      finding("the server ended the connection (" + (wire.goAway == null ? "closed, no GOAWAY"
          : "GOAWAY " + RawHttp2Client.errorCodeName(wire.goAway.errorCode()) + describeGoAway(wire.goAway))
          + ") " + when + ", though every frame sent allows at most a stream error");
    }
  }

  /** After a sync, the lingering gauge settles at what the wire shows lingering. */
  /**
   * {@code call} was open or lingering (as far as the client knows) when it sent a frame that
   * HTTP/2 makes a stream error: the server must answer it with RST_STREAM on that stream, and
   * not keep the stream lingering.
   */
  private void expectStreamError(Call call, String frame) {
    Cat cat = category(call, wire());
    if ((cat == Cat.LINGERING || cat == Cat.OPEN) && !rejectedBeforeCreation(call)
        && !expectedResets.containsKey(call.id)) {
      expectedResets.put(call.id, frame + " on the " + cat.name().toLowerCase(Locale.ROOT) + " stream");
    }
  }

  /** After a sync: every stream error expected so far was answered with RST_STREAM. */
  private void checkExpectedResets() {
    if (expectedResets.isEmpty() || !usable()) {
      return;
    }
    Wire wire = wire();
    for (Map.Entry<Integer, String> expected : expectedResets.entrySet()) {
      if (!serverReset(calls.get(expected.getKey()), wire)) {
        finding("no RST_STREAM on stream " + expected.getKey() + " after " + expected.getValue()
            + ", a stream error; the lingering gauge reads " + server.lingering());
      }
    }
    expectedResets.clear();
  }

  private void checkGauge(String when) {
    if (!server.guarded() || !usable()) {
      return;
    }
    op("CHECK gauge (%s)", when);
    guarded("SYNC", () -> client.sync());
    checkExpectedResets();
    if (!waitFor(() -> server.lingering() == wireLingering(), Duration.ofSeconds(3))) {
      finding("lingering gauge " + server.lingering() + " does not match the " + wireLingering()
          + " stream(s) the wire shows lingering (" + when + ")");
    }
  }

  /** Streams the server ended, the client did not, and nobody reset, as the client sees them. */
  private int wireLingering() {
    Wire wire = wire();
    int count = 0;
    for (Call call : calls.values()) {
      if (category(call, wire) == Cat.LINGERING) {
        count++;
      }
    }
    return count;
  }

  private void checkMetersAfterClose(Map<ReleaseCause, Double> before) {
    // The server may still be reading what the client sent before it closed.
    if (!waitFor(() -> server.openConnections() == 0, WAIT)) {
      finding("the server still has " + server.openConnections() + " connection(s) open five seconds after the"
          + " client closed its socket");
    }
    if (!waitFor(() -> server.lingering() == 0, WAIT)) {
      finding("lingering gauge " + server.lingering() + " five seconds after the connection closed");
    }
    // Streams that certainly lingered: the client saw the server's END_STREAM before it ended the
    // stream itself. Streams that possibly lingered: the server's END_STREAM seen, or nothing final.
    Wire wire = wire();
    int certain = 0;
    int possible = 0;
    for (Call call : calls.values()) {
      if (call.openedWithEnd) {
        continue;
      }
      Frame end = wire.end.get(call.id);
      if (end != null && end.receivedNanos() < call.clientDoneNanos) {
        certain++;
      }
      if (end != null || !serverReset(call, wire)) {
        possible++;
      }
    }
    certainLingerers = certain;
    int lower = certain;
    waitFor(() -> sum(delta(before)) >= lower, WAIT);
    Map<ReleaseCause, Double> delta = delta(before);
    double released = sum(delta);
    lingered = released;
    if (released < certain || released > possible) {
      finding(String.format(Locale.ROOT,
          "released %s over all causes (%s), but %d stream(s) certainly and %d possibly lingered", fmt(released),
          delta, certain, possible));
    }
    double resets = 0;
    for (Map.Entry<ReleaseCause, Double> e : delta.entrySet()) {
      if (e.getKey().resetsStream()) {
        resets += e.getValue();
      }
    }
    if (resets < wire.guardResets) {
      finding("the client received " + wire.guardResets + " RST_STREAM(NO_ERROR) after END_STREAM, but only "
          + fmt(resets) + " releases with a resetting cause were counted: " + delta);
    }
    if (policy == ResetPolicy.NEVER && (resets > 0 || wire.noErrorResets > 0)) {
      finding("under never: " + fmt(resets) + " resetting releases counted and " + wire.noErrorResets
          + " RST_STREAM(NO_ERROR) received: " + delta);
    }
    if (policy == ResetPolicy.DEFERRED && delta.get(ReleaseCause.IMMEDIATE) > 0) {
      finding("under deferred: releases counted as immediate: " + delta);
    }
    if (policy == ResetPolicy.IMMEDIATE
        && delta.get(ReleaseCause.GRACE_EXPIRED) + delta.get(ReleaseCause.OVERFLOW) > 0) {
      finding("under immediate: releases counted as grace_expired or overflow: " + delta);
    }
  }

  private Map<ReleaseCause, Double> releasedByCause() {
    Map<ReleaseCause, Double> values = new EnumMap<>(ReleaseCause.class);
    for (ReleaseCause cause : ReleaseCause.values()) {
      values.put(cause, server.released(cause));
    }
    return values;
  }

  private Map<ReleaseCause, Double> delta(Map<ReleaseCause, Double> before) {
    Map<ReleaseCause, Double> now = releasedByCause();
    now.replaceAll((cause, value) -> value - before.get(cause));
    return now;
  }

  private static double sum(Map<ReleaseCause, Double> values) {
    return values.values().stream().mapToDouble(Double::doubleValue).sum();
  }

  // ---------------------------------------------------------------------------- the model

  private Wire wire() {
    return new Wire(client.frames());
  }

  /**
   * Whether the server reset the call's stream. A reset that arrived before the client opened the
   * stream answered a frame on the idle stream (Netty resets idle streams for stream errors such as
   * WINDOW_UPDATE 0, and then still lets HEADERS open them): it does not count.
   */
  private static boolean serverReset(Call call, Wire wire) {
    Frame rst = wire.rst.get(call.id);
    return rst != null && rst.receivedNanos() > call.openedNanos;
  }

  private Cat category(Call call, Wire wire) {
    if (serverReset(call, wire) || call.clientReset) {
      return Cat.CLOSED;
    }
    boolean serverEnded = wire.end.containsKey(call.id);
    if (!call.clientEnded) {
      return serverEnded ? Cat.LINGERING : Cat.OPEN;
    }
    return serverEnded ? Cat.CLOSED : Cat.HALF_CLOSED;
  }

  /**
   * A stream the client opened: {@code livePercent} of the time one it has not ended (open or
   * lingering, lingering preferred when there is one), {@code endedPercent} one it has ended or
   * that is closed, else null (an idle stream, for the caller). Unless {@code breaking}, never a
   * stream the client ended with END_STREAM (frames there allow a connection error), and null only
   * when there is no candidate.
   */
  private Call pickCall(int livePercent, int endedPercent, boolean breaking) {
    Wire wire = wire();
    List<Call> live = new ArrayList<>();
    List<Call> lingering = new ArrayList<>();
    List<Call> ended = new ArrayList<>();
    for (Call call : calls.values()) {
      Cat cat = category(call, wire);
      if (cat == Cat.LINGERING) {
        lingering.add(call);
        live.add(call);
      } else if (cat == Cat.OPEN) {
        live.add(call);
      } else if (breaking || !call.clientEnded) {
        ended.add(call);
      }
      if (rejectedBeforeCreation(call) && !breaking) {
        live.remove(call);
        ended.remove(call);
      }
    }
    int roll = rnd.nextInt(100);
    if (roll >= livePercent + endedPercent && breaking) {
      return null;
    }
    if (roll < livePercent && !live.isEmpty() || ended.isEmpty()) {
      if (live.isEmpty()) {
        return null;
      }
      List<Call> from = !lingering.isEmpty() && rnd.nextBoolean() ? lingering : live;
      return from.get(rnd.nextInt(from.size()));
    }
    return ended.get(rnd.nextInt(ended.size()));
  }

  /**
   * Netty rejects HEADERS with a connection-specific header (RST_STREAM PROTOCOL_ERROR) before it
   * creates the stream, and then answers any frame on that stream as one on an idle stream: with a
   * connection error (stock Netty; RFC 9113 would make it a stream error).
   */
  private static boolean rejectedBeforeCreation(Call call) {
    return call.kind.equals("connection-header");
  }

  private void breaksOnRejected(Call call, String frame) {
    if (rejectedBeforeCreation(call)) {
      breaks(frame + " on stream " + call.id + ", whose HEADERS Netty rejected before creating the stream"
          + " (stock Netty then answers with a connection error)");
    }
  }

  /**
   * grpc-java takes HEADERS on a stream it has not ended as a new request on that stream and
   * answers it with a second response HEADERS, which Netty's encoder turns into a connection error
   * ({@code INTERNAL_ERROR "Stream N sent too many headers"}): stock grpc-java, with or without the
   * guard, which only takes over streams the server has ended.
   */
  private void breaksOnOpenGrpcStream(Call call) {
    if (server.isGrpc() && category(call, wire()) == Cat.OPEN) {
      breaks("HEADERS on stream " + call.id + ", open on both sides, to grpc-java (stock grpc-java answers with"
          + " a second response and a connection error)");
    }
  }

  /**
   * A stream for HEADERS: like {@link #pickCall}, except that on grpc-java, unless this is a
   * breaking frame, never a stream open on both sides (see {@link #breaksOnOpenGrpcStream}).
   */
  private Call pickHeadersTarget(int livePercent, int endedPercent) {
    boolean breaking = mayBreakNow();
    Call call = pickCall(livePercent, endedPercent, breaking);
    if (call != null && server.isGrpc() && !breaking && category(call, wire()) == Cat.OPEN) {
      Wire wire = wire();
      List<Call> lingering = new ArrayList<>();
      for (Call c : calls.values()) {
        if (category(c, wire) == Cat.LINGERING && !rejectedBeforeCreation(c)) {
          lingering.add(c);
        }
      }
      return lingering.isEmpty() ? null : lingering.get(rnd.nextInt(lingering.size()));
    }
    return call;
  }

  /** Whether to send, this once, a frame that allows a connection error (wild connections only). */
  private boolean mayBreakNow() {
    return wild && burstIndex >= 2 && rnd.nextInt(4) == 0;
  }

  private String describe(Call call) {
    return call == null ? "idle" : category(call, wire()) + " " + call.kind;
  }

  /** An idle stream: an even id (the server's, never used) or an odd id past the next one. */
  private int idleStreamId() {
    return rnd.nextBoolean() ? 2 * (1 + rnd.nextInt(50)) : nextStreamId + 2 * (1 + rnd.nextInt(3));
  }

  private int anyStreamId() {
    return nextStreamId <= 1 ? 1 : 1 + 2 * rnd.nextInt((nextStreamId + 1) / 2);
  }

  private int dependencyFor(int streamId) {
    int dependency = rnd.nextBoolean() ? 0 : anyStreamId();
    return dependency == streamId ? 0 : dependency;
  }

  private void markEnded(Call call) {
    if (!call.clientDone()) {
      call.clientDoneNanos = System.nanoTime();
    }
    call.clientEnded = true;
  }

  private void breaks(String why) {
    if (mayBreakBecause == null) {
      mayBreakBecause = why;
      op("   (from here the server may end the connection: %s)", why);
    }
  }

  private boolean usable() {
    return !closedByClient && !clientSentGoAway && !client.isClosed();
  }

  // ---------------------------------------------------------------------------- plumbing

  private void op(String format, Object... args) {
    ops.add(String.format(Locale.ROOT, format, args));
  }

  private void guarded(Runnable send) {
    guarded("send", send);
  }

  private void guarded(String what, Runnable send) {
    if (!usable()) {
      throw new ConnectionGone("closed before " + what);
    }
    try {
      send.run();
    } catch (UncheckedIOException e) {
      throw new ConnectionGone(what + " failed: " + e.getMessage());
    } catch (AssertionError | IllegalStateException e) {
      if (client.isClosed()) {
        throw new ConnectionGone("closed during " + what);
      }
      throw e;
    }
  }

  private int guarded(java.util.function.IntSupplier send) {
    int[] sent = new int[1];
    guarded("send", () -> sent[0] = send.getAsInt());
    return sent[0];
  }

  private Frame awaitOnStream(int streamId, String what, java.util.function.Predicate<Frame> predicate) {
    Frame[] found = new Frame[1];
    guarded("waiting for " + what, () -> found[0] = client.awaitFrame(
        f -> f.streamId() == streamId && predicate.test(f), grace.plus(WAIT)));
    return found[0];
  }

  private static boolean waitFor(BooleanSupplier condition, Duration timeout) {
    return Await.holdsWithin(condition, timeout);
  }

  private byte[] randomBytes(int length) {
    byte[] bytes = new byte[length];
    rnd.nextBytes(bytes);
    return bytes;
  }

  private static String describeGoAway(Frame goAway) {
    byte[] payload = goAway.payload();
    String debug = payload.length > 8 ? new String(payload, 8, payload.length - 8, java.nio.charset.StandardCharsets.UTF_8)
        : "";
    return " last=" + goAway.lastStreamId() + (debug.isEmpty() ? "" : " \"" + debug + "\"");
  }

  private static String firstLine(Throwable e) {
    String text = String.valueOf(e.getMessage());
    int newline = text.indexOf('\n');
    return e.getClass().getSimpleName() + ": " + (newline < 0 ? text : text.substring(0, newline));
  }

  private static String fmt(double value) {
    return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
  }

  void finding(String what) {
    StringBuilder text = new StringBuilder();
    text.append(id).append(" (seed ").append(seed).append("L): ").append(what);
    text.append("\n    may end the connection: ").append(mayBreakBecause == null ? "no" : mayBreakBecause);
    text.append("\n    operations:");
    for (String op : ops) {
      text.append("\n      ").append(op);
    }
    String frames = client == null ? "" : client.describeFrames();
    if (frames.length() > 12_000) {
      frames = frames.substring(0, 4_000) + "\n  [...]\n" + frames.substring(frames.length() - 8_000);
    }
    text.append("\n    ").append(frames.replace("\n", "\n    "));
    findings.add(text.toString());
  }
}
