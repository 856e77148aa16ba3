package dev.abortguard.testing;

import static dev.abortguard.testing.RawHttp2Client.CANCEL;
import static dev.abortguard.testing.RawHttp2Client.CONTINUATION;
import static dev.abortguard.testing.RawHttp2Client.DATA;
import static dev.abortguard.testing.RawHttp2Client.FLAG_ACK;
import static dev.abortguard.testing.RawHttp2Client.FLAG_END_HEADERS;
import static dev.abortguard.testing.RawHttp2Client.FLAG_END_STREAM;
import static dev.abortguard.testing.RawHttp2Client.FLAG_PADDED;
import static dev.abortguard.testing.RawHttp2Client.FLAG_PRIORITY;
import static dev.abortguard.testing.RawHttp2Client.GOAWAY;
import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.PING;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static dev.abortguard.testing.RawHttp2Client.SETTINGS;
import static dev.abortguard.testing.RawHttp2Client.WINDOW_UPDATE;
import static dev.abortguard.testing.RawHttp2Client.lengthPrefixed;
import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.RawHttp2Client.Frame;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakDetectionExtension.class)
class RawHttp2ClientTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final String SLOW_SERVICE = "test.Slow";
  private static final String READ_DELAY_HEADER = "x-read-delay-ms";

  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final AtomicLong firstRequestNanos = new AtomicLong();
  private Server server;

  @AfterEach
  void tearDown() {
    scheduler.shutdownNow();
    TestServers.stop(server);
  }

  @Test
  void bidiEchoThenTrailersAfterHalfClose() {
    server = TestServers.start(TestServers.plaintextBuilder());
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      client.awaitFrame(f -> f.type() == SETTINGS && f.ack(), TIMEOUT); // the server acked ours
      int id = client.startCall(TestServers.path(TestServers.BIDI), Map.of(), false);
      assertEquals(1, id);
      byte[] hello = "hello".getBytes(UTF_8);
      client.sendMessage(id, hello, false);

      Frame headers = client.awaitFrame(id, HEADERS, TIMEOUT);
      assertEquals("200", headers.header(":status"), client.describeFrames());
      assertEquals("application/grpc", headers.header("content-type"), client.describeFrames());
      assertFalse(headers.endStream(), client.describeFrames());
      Frame data = client.awaitFrame(id, DATA, TIMEOUT);
      assertArrayEquals(lengthPrefixed(hello), data.data(), client.describeFrames());
      client.assertNoFrame(f -> f.streamId() == id && f.endStream(), Duration.ofMillis(100));

      client.sendData(id, new byte[0], true);
      Frame trailers = client.awaitFrame(f -> f.streamId() == id && f.endStream(), TIMEOUT);
      assertEquals(HEADERS, trailers.type(), client.describeFrames());
      assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
      assertEquals(
          List.of("HEADERS", "DATA", "HEADERS"),
          typeNames(client.frames(id)),
          client.describeFrames());
      assertTrue(client.describeFrames().contains("grpc-status=0"), client.describeFrames());
    }
  }

  @Test
  void abortedCallIsOneTrailersOnlyHeadersFrameAndNoReset() {
    server = TestServers.start(TestServers.plaintextBuilder());
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      int id =
          client.startCall(
              TestServers.path(TestServers.BIDI),
              Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED"),
              false);

      Frame trailers = client.awaitFrame(id, HEADERS, TIMEOUT);
      String recording = client.describeFrames();
      assertTrue(trailers.endStream(), recording);
      assertEquals("200", trailers.header(":status"), recording);
      assertEquals("application/grpc", trailers.header("content-type"), recording);
      assertEquals("7", trailers.header("grpc-status"), recording);
      assertEquals(TestServers.ABORT_DESCRIPTION, trailers.header("grpc-message"), recording);
      // Stock grpc-java never resets a stream after its trailers (grpc-java issue #2162).
      client.assertNoFrame(f -> f.streamId() == id && f != trailers, Duration.ofMillis(200));
      assertEquals(1, client.frames(id).size(), client.describeFrames());
    }
  }

  @Test
  void pingIsAnsweredAndConnectionFramesAreRecorded() {
    server = TestServers.start(TestServers.plaintextBuilder());
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      client.sendPing(0x0102030405060708L);
      Frame ack = client.awaitFrame(f -> f.type() == PING && f.ack(), TIMEOUT);
      assertArrayEquals(
          new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, ack.payload(), client.describeFrames());
      Frame settings = client.frames().get(0);
      assertEquals(SETTINGS, settings.type(), client.describeFrames());
      assertFalse(settings.ack(), client.describeFrames());
      assertTrue(settings.readBatch() >= 1, client.describeFrames());
      assertTrue(
          client.describeFrames().contains(" sent    SETTINGS stream=0 ACK"),
          client.describeFrames());
    }
  }

  @Test
  void resetAndGoAwayAreSentAsAsked() {
    server = TestServers.start(TestServers.plaintextBuilder());
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      int id = client.startCall(TestServers.path(TestServers.BIDI), Map.of(), false);
      client.sendMessage(id, new byte[] {42}, false);
      client.awaitFrame(id, DATA, TIMEOUT);
      client.sendRstStream(id, CANCEL);
      client.assertNoFrame(
          f -> f.streamId() == id && f.type() == RST_STREAM, Duration.ofMillis(100));
      // Netty answers DATA on a stream the peer reset with RST_STREAM(STREAM_CLOSED).
      client.sendMessage(id, new byte[] {43}, false);
      Frame rst = client.awaitFrame(id, RST_STREAM, TIMEOUT);
      assertEquals(RawHttp2Client.STREAM_CLOSED, rst.errorCode(), client.describeFrames());

      client.sendGoAway(id, NO_ERROR);
      String recording = client.describeFrames();
      assertTrue(recording.contains("sent    RST_STREAM stream=1 CANCEL(0x8)"), recording);
      assertTrue(recording.contains("sent    GOAWAY stream=0 last=1 NO_ERROR(0x0)"), recording);
    }
  }

  @Test
  void tlsUnaryRoundTrip() {
    server = TestServers.start(TestServers.tlsBuilder());
    try (RawHttp2Client client = RawHttp2Client.connectTls("localhost", server.getPort())) {
      int id = client.startCall(TestServers.path(TestServers.UNARY), Map.of(), false);
      byte[] request = "over tls".getBytes(UTF_8);
      client.sendMessage(id, request, true);
      Frame trailers = client.awaitFrame(f -> f.streamId() == id && f.endStream(), TIMEOUT);
      assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
      assertArrayEquals(lengthPrefixed(request), client.receivedData(id), client.describeFrames());
      assertTrue(
          client.toString().startsWith("RawHttp2Client[https://localhost:"), client.toString());
    }
  }

  @Test
  void largeMessageWaitsForTheSlowServersWindow() {
    server =
        TestServers.start(
            TestServers.plaintextBuilder().addService(slowEcho()).flowControlWindow(65_535));
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      byte[] big = new byte[1 << 20];
      for (int i = 0; i < big.length; i++) {
        big[i] = (byte) (i * 31);
      }
      int id =
          client.startCall("/" + SLOW_SERVICE + "/Bidi", Map.of(READ_DELAY_HEADER, "300"), false);
      client.sendMessage(id, big, false);
      long sent = System.nanoTime();
      long requested = firstRequestNanos.get();
      assertTrue(requested != 0 && requested - sent < 0, "sent before the server read anything");

      client.sendData(id, new byte[0], true);
      Frame trailers = client.awaitFrame(f -> f.streamId() == id && f.endStream(), TIMEOUT);
      assertEquals("0", trailers.header("grpc-status"), client.describeFrames());
      assertArrayEquals(lengthPrefixed(big), client.receivedData(id));
    }
  }

  @Test
  void sendingFailsWhenTheWindowStaysShut() {
    server =
        TestServers.start(
            TestServers.plaintextBuilder().addService(slowEcho()).flowControlWindow(65_535));
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      int id =
          client.startCall(
              "/" + SLOW_SERVICE + "/Bidi", Map.of(READ_DELAY_HEADER, "600000"), false);
      long start = System.nanoTime();
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class, () -> client.sendMessage(id, new byte[100_000], false));
      long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(e.getMessage().contains("no WINDOW_UPDATE within 5 s"), e.getMessage());
      assertTrue(waitedMillis >= 4_900, "gave up after " + waitedMillis + " ms");
    }
  }

  /** Checks framing in both directions against a scripted server on a plain socket. */
  @Test
  void framesAgainstAScriptedServer() throws Exception {
    ExecutorService acceptor = Executors.newSingleThreadExecutor();
    try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Future<Socket> accepted =
          acceptor.submit(
              () -> {
                Socket socket = listener.accept();
                socket.setTcpNoDelay(true);
                socket.getOutputStream().write(frame(SETTINGS, 0, 0, new byte[0]));
                return socket;
              });
      try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", listener.getLocalPort());
          Socket socket = accepted.get(5, TimeUnit.SECONDS)) {
        socket.setSoTimeout(5_000);
        ScriptedPeer peer = new ScriptedPeer(socket);
        peer.expectPreface(client);

        // Two frames in one write arrive in one read; a frame written after the client recorded
        // the previous ones arrives in a later read.
        peer.write(
            frame(PING, 0, 0, new byte[] {8, 7, 6, 5, 4, 3, 2, 1}),
            frame(WINDOW_UPDATE, 0, 0, int32(100)));
        Frame ping = client.awaitFrame(f -> f.type() == PING, TIMEOUT);
        Frame update = client.awaitFrame(f -> f.type() == WINDOW_UPDATE, TIMEOUT);
        assertEquals(ping.readBatch(), update.readBatch(), client.describeFrames());
        assertEquals(100, update.windowIncrement());
        RawFrame pingAck = peer.read();
        assertEquals(PING, pingAck.type);
        assertEquals(FLAG_ACK, pingAck.flags);
        assertArrayEquals(new byte[] {8, 7, 6, 5, 4, 3, 2, 1}, pingAck.payload);

        // A padded, prioritised HEADERS with two CONTINUATIONs is recorded once complete.
        Map<String, String> sentHeaders = new LinkedHashMap<>();
        sentHeaders.put(":status", "200");
        sentHeaders.put("content-type", "application/grpc");
        sentHeaders.put("grpc-status", "0");
        sentHeaders.put("x-long", "v".repeat(100));
        byte[] block = encode(3, sentHeaders);
        int a = block.length / 3;
        int b = 2 * block.length / 3;
        byte[] headersPayload =
            concat(new byte[] {2}, new byte[5], Arrays.copyOfRange(block, 0, a), new byte[2]);
        peer.write(
            frame(HEADERS, FLAG_PADDED | FLAG_PRIORITY | FLAG_END_STREAM, 3, headersPayload));
        peer.write(frame(CONTINUATION, 0, 3, Arrays.copyOfRange(block, a, b)));
        client.assertNoFrame(f -> f.streamId() == 3, Duration.ofMillis(50));
        peer.write(
            frame(CONTINUATION, FLAG_END_HEADERS, 3, Arrays.copyOfRange(block, b, block.length)));
        Frame headers = client.awaitFrame(3, HEADERS, TIMEOUT);
        assertEquals(sentHeaders, headers.headers(), client.describeFrames());
        assertTrue(headers.endStream());
        assertEquals(
            List.of("HEADERS", "CONTINUATION", "CONTINUATION"), typeNames(client.frames(3)));
        assertTrue(headers.readBatch() > update.readBatch(), client.describeFrames());

        peer.write(
            frame(
                DATA,
                FLAG_PADDED,
                3,
                concat(new byte[] {3}, "abc".getBytes(US_ASCII), new byte[3])));
        Frame data = client.awaitFrame(3, DATA, TIMEOUT);
        assertArrayEquals("abc".getBytes(US_ASCII), data.data());
        assertFalse(data.endStream());

        peer.write(
            frame(RST_STREAM, 0, 3, int32(CANCEL)),
            frame(GOAWAY, 0, 0, concat(int32(3), int32(NO_ERROR), "bye".getBytes(US_ASCII))));
        Frame rst = client.awaitFrame(3, RST_STREAM, TIMEOUT);
        Frame goAway = client.awaitFrame(0, GOAWAY, TIMEOUT);
        assertEquals(CANCEL, rst.errorCode());
        assertEquals(3, goAway.lastStreamId());
        assertEquals(NO_ERROR, goAway.errorCode());
        assertTrue(
            goAway.toString().contains("GOAWAY stream=0 last=3 NO_ERROR(0x0) debug=\"bye\""),
            goAway::toString);
        assertTrue(rst.toString().contains("RST_STREAM stream=3 CANCEL(0x8)"), rst::toString);

        // What the client sends.
        int id = client.startCall("/svc/M", Map.of("x-demo-abort", "PERMISSION_DENIED"), false);
        RawFrame request = peer.read();
        assertEquals(HEADERS, request.type);
        assertEquals(FLAG_END_HEADERS, request.flags);
        assertEquals(id, request.streamId);
        Map<String, String> requestHeaders = decode(request);
        assertEquals(
            List.of(
                ":method", ":scheme", ":path", ":authority", "content-type", "te", "x-demo-abort"),
            List.copyOf(requestHeaders.keySet()));
        assertEquals("127.0.0.1:" + listener.getLocalPort(), requestHeaders.get(":authority"));
        assertEquals("http", requestHeaders.get(":scheme"));

        client.sendMessage(id, new byte[] {9, 9}, false);
        RawFrame message = peer.read();
        assertEquals(DATA, message.type);
        assertArrayEquals(new byte[] {0, 0, 0, 0, 2, 9, 9}, message.payload);

        client.sendData(id, new byte[40_000], true); // over the default SETTINGS_MAX_FRAME_SIZE
        int[] lengths = {16_384, 16_384, 40_000 - 2 * 16_384};
        for (int i = 0; i < lengths.length; i++) {
          RawFrame chunk = peer.read();
          assertEquals(DATA, chunk.type);
          assertEquals(lengths[i], chunk.payload.length);
          assertEquals(i == lengths.length - 1 ? FLAG_END_STREAM : 0, chunk.flags);
        }

        client.sendRstStream(id, CANCEL);
        client.sendGoAway(id, NO_ERROR);
        RawFrame rstOut = peer.read();
        RawFrame goAwayOut = peer.read();
        assertEquals(RST_STREAM, rstOut.type);
        assertArrayEquals(int32(CANCEL), rstOut.payload);
        assertEquals(GOAWAY, goAwayOut.type);
        assertArrayEquals(concat(int32(id), int32(NO_ERROR)), goAwayOut.payload);

        socket.shutdownOutput(); // EOF for the client
        assertTrue(client.awaitClosed(TIMEOUT), client.describeFrames());
        assertTrue(client.isClosed());
        AssertionError error =
            assertThrows(AssertionError.class, () -> client.awaitFrame(99, DATA, TIMEOUT));
        assertTrue(
            error.getMessage().contains("connection closed without a matching frame"),
            error.getMessage());
        assertTrue(
            error.getMessage().contains("connection closed by peer (EOF)"), error.getMessage());
      }
    } finally {
      acceptor.shutdownNow();
    }
  }

  @Test
  void awaitFrameTimesOutWithTheRecording() {
    server = TestServers.start(TestServers.plaintextBuilder());
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      AssertionError timeout =
          assertThrows(
              AssertionError.class, () -> client.awaitFrame(1, HEADERS, Duration.ofMillis(50)));
      assertTrue(timeout.getMessage().contains("timed out after PT0.05S"), timeout.getMessage());
      assertTrue(timeout.getMessage().contains("batch=1"), timeout.getMessage());
      AssertionError unexpected =
          assertThrows(
              AssertionError.class, () -> client.assertNoFrame(f -> f.type() == SETTINGS, TIMEOUT));
      assertTrue(unexpected.getMessage().startsWith("unexpected frame "), unexpected.getMessage());
    }
  }

  /** A bidi echo ({@code test.Slow/Bidi}) that reads its first message only after a delay. */
  private ServerServiceDefinition slowEcho() {
    MethodDescriptor<byte[], byte[]> method =
        TestServers.BIDI.toBuilder()
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SLOW_SERVICE, "Bidi"))
            .build();
    Metadata.Key<String> delayKey =
        Metadata.Key.of(READ_DELAY_HEADER, Metadata.ASCII_STRING_MARSHALLER);
    ServerCallHandler<byte[], byte[]> handler =
        (call, headers) -> {
          call.sendHeaders(new Metadata());
          long delay = Long.parseLong(headers.get(delayKey));
          scheduler.schedule(
              () -> {
                firstRequestNanos.set(System.nanoTime());
                call.request(1);
              },
              delay,
              TimeUnit.MILLISECONDS);
          return new ServerCall.Listener<>() {
            @Override
            public void onMessage(byte[] message) {
              call.sendMessage(message);
              call.request(1);
            }

            @Override
            public void onHalfClose() {
              call.close(Status.OK, new Metadata());
            }
          };
        };
    return ServerServiceDefinition.builder(SLOW_SERVICE).addMethod(method, handler).build();
  }

  private static List<String> typeNames(List<Frame> frames) {
    return frames.stream().map(Frame::typeName).collect(Collectors.toList());
  }

  private static byte[] encode(int streamId, Map<String, String> headers) throws Exception {
    Http2Headers netty = new DefaultHttp2Headers(false);
    headers.forEach(netty::add);
    ByteBuf out = Unpooled.buffer();
    try {
      new DefaultHttp2HeadersEncoder().encodeHeaders(streamId, netty, out);
      return ByteBufUtil.getBytes(out);
    } finally {
      out.release();
    }
  }

  private static Map<String, String> decode(RawFrame frame) throws Exception {
    ByteBuf in = Unpooled.wrappedBuffer(frame.payload);
    try {
      Map<String, String> headers = new LinkedHashMap<>();
      new DefaultHttp2HeadersDecoder(false)
          .decodeHeaders(frame.streamId, in)
          .forEach(e -> headers.put(e.getKey().toString(), e.getValue().toString()));
      return headers;
    } finally {
      in.release();
    }
  }

  private static byte[] frame(int type, int flags, int streamId, byte[] payload) {
    int length = payload.length;
    return concat(
        new byte[] {
          (byte) (length >>> 16), (byte) (length >>> 8), (byte) length, (byte) type, (byte) flags
        },
        int32(streamId),
        payload);
  }

  private static byte[] int32(long value) {
    return new byte[] {
      (byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value
    };
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      out.writeBytes(part);
    }
    return out.toByteArray();
  }

  /** A frame as the scripted server read it. */
  private static final class RawFrame {
    final int type;
    final int flags;
    final int streamId;
    final byte[] payload;

    RawFrame(int type, int flags, int streamId, byte[] payload) {
      this.type = type;
      this.flags = flags;
      this.streamId = streamId;
      this.payload = payload;
    }
  }

  /** The server end of a raw socket, driven step by step by the test. */
  private static final class ScriptedPeer {
    private final DataInputStream in;
    private final OutputStream out;

    ScriptedPeer(Socket socket) throws IOException {
      in = new DataInputStream(socket.getInputStream());
      out = socket.getOutputStream();
    }

    /** Reads the preface, SETTINGS and WINDOW_UPDATE, and the ACK of our SETTINGS. */
    void expectPreface(RawHttp2Client client) throws IOException {
      byte[] preface = new byte[24];
      in.readFully(preface);
      assertEquals("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", new String(preface, US_ASCII));
      RawFrame settings = read();
      assertEquals(SETTINGS, settings.type);
      assertEquals(0, settings.flags);
      assertEquals(12, settings.payload.length); // ENABLE_PUSH 0, INITIAL_WINDOW_SIZE 2^31-1
      RawFrame update = read();
      assertEquals(WINDOW_UPDATE, update.type);
      assertArrayEquals(int32(Integer.MAX_VALUE - 65_535), update.payload);
      RawFrame ack = read();
      assertEquals(SETTINGS, ack.type);
      assertEquals(FLAG_ACK, ack.flags, client::describeFrames);
      assertNotEquals(0, client.frames().size());
    }

    void write(byte[]... frames) throws IOException {
      out.write(concat(frames));
      out.flush();
    }

    RawFrame read() throws IOException {
      int length = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
      int type = in.readUnsignedByte();
      int flags = in.readUnsignedByte();
      int streamId = in.readInt() & 0x7fffffff;
      byte[] payload = new byte[length];
      in.readFully(payload);
      return new RawFrame(type, flags, streamId, payload);
    }
  }
}
