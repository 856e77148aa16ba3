package example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;

/**
 * net.devh's server with the guarded factory: a global interceptor denies a bidi call at once; on
 * the wire the status comes trailers-only and, under abortguard.reset=immediate, RST_STREAM(NO_ERROR)
 * follows, which only the guard sends.
 */
@SpringBootTest(classes = DenyingApp.class)
class NetDevhAbortGuardTest {

  @Autowired DenyingApp app;
  @Autowired MeterRegistry registry;

  @Test
  void abortedCallIsTrailersOnlyThenNoErrorReset() throws Exception {
    assertTrue(app.port > 0, "net.devh started its server");
    checkAbortedCall(new Socket("127.0.0.1", app.port), registry);
  }

  /** One denied bidi call on {@code socket}: trailers-only PERMISSION_DENIED, then RST_STREAM(NO_ERROR). */
  static void checkAbortedCall(Socket connection, MeterRegistry registry) throws Exception {
    String status = null;
    try (Socket socket = connection) {
      socket.setSoTimeout(5000);
      OutputStream out = socket.getOutputStream();
      out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      frame(out, 0x4, 0, 0, new byte[0]);
      ByteArrayOutputStream block = new ByteArrayOutputStream();
      literal(block, ":method", "POST");
      literal(block, ":scheme", "http");
      literal(block, ":path", "/example.Echo/Bidi");
      literal(block, ":authority", "127.0.0.1");
      literal(block, "content-type", "application/grpc");
      literal(block, "te", "trailers");
      frame(out, 0x1, 0x4, 1, block.toByteArray()); // HEADERS, END_HEADERS; the client's side stays open
      out.flush();

      DataInputStream in = new DataInputStream(socket.getInputStream());
      boolean trailersOnly = false;
      while (true) {
        int length = (in.readUnsignedShort() << 8) | in.readUnsignedByte();
        int type = in.readUnsignedByte();
        int flags = in.readUnsignedByte();
        int stream = in.readInt() & 0x7fffffff;
        byte[] payload = new byte[length];
        in.readFully(payload);
        if (type == 0x4 && (flags & 0x1) == 0) {
          frame(out, 0x4, 0x1, 0, new byte[0]); // SETTINGS ack
          out.flush();
        } else if (type == 0x1 && stream == 1) {
          assertTrue((flags & 0x1) != 0, "one HEADERS frame with END_STREAM: trailers-only");
          CharSequence value = new DefaultHttp2HeadersDecoder(true)
              .decodeHeaders(1, Unpooled.wrappedBuffer(payload)).get("grpc-status");
          status = value == null ? null : value.toString();
          trailersOnly = true;
        } else if (type == 0x3 && stream == 1) {
          assertTrue(trailersOnly, "the reset follows the trailers");
          long code = ((payload[0] & 0xffL) << 24) | ((payload[1] & 0xff) << 16) | ((payload[2] & 0xff) << 8)
              | (payload[3] & 0xff);
          assertEquals(0, code, "RST_STREAM(NO_ERROR), which only the guard sends");
          break;
        }
      }
    }
    assertEquals("7", status, "grpc-status 7, PERMISSION_DENIED, in the trailers");

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (registry.find("grpc.server.aborts").counters().stream().mapToDouble(c -> c.count()).sum() < 1
        && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(1.0, registry.get("grpc.server.aborts").tag("statusCode", "PERMISSION_DENIED").counter().count());
    assertEquals(0.0, registry.find("abortguard.misconfigured").counters().stream().mapToDouble(c -> c.count()).sum(),
        "no misconfiguration reported");
  }

  private static void literal(ByteArrayOutputStream block, String name, String value) {
    byte[] n = name.getBytes(StandardCharsets.US_ASCII);
    byte[] v = value.getBytes(StandardCharsets.US_ASCII);
    block.write(0x00);
    block.write(n.length);
    block.writeBytes(n);
    block.write(v.length);
    block.writeBytes(v);
  }

  private static void frame(OutputStream out, int type, int flags, int stream, byte[] payload) throws IOException {
    out.write(new byte[] {(byte) (payload.length >>> 16), (byte) (payload.length >>> 8), (byte) payload.length,
        (byte) type, (byte) flags, (byte) (stream >>> 24), (byte) (stream >>> 16), (byte) (stream >>> 8),
        (byte) stream});
    out.write(payload);
  }
}
