package consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A user's first test: a guarded server, one aborted call, checked on the wire and in the meters. */
class AbortedCallTest {
  static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  };
  static final MethodDescriptor<byte[], byte[]> BIDI = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
      .setFullMethodName("consumer.Echo/Bidi")
      .setRequestMarshaller(BYTES)
      .setResponseMarshaller(BYTES)
      .build();

  /** Rejects every call at once, as an auth interceptor does. */
  static final ServerInterceptor DENY = new ServerInterceptor() {
    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
        ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
      call.close(Status.PERMISSION_DENIED.withDescription("denied"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
  };

  @Test
  void oneAbortedCallOnTheWire() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AbortGuard guard = AbortGuard.builder().reset(ResetPolicy.IMMEDIATE).meterRegistry(registry).build();
    ServerServiceDefinition echo = ServerServiceDefinition.builder("consumer.Echo")
        .addMethod(BIDI, ServerCalls.asyncBidiStreamingCall(responses -> null))
        .build();
    // docs/grpc-netty.md's one line; `var` keeps this source the same for grpc-netty and grpc-netty-shaded.
    var builder = guard.forPort(0);
    Server server = builder.addService(ServerInterceptors.intercept(echo, DENY)).build().start();
    try (Socket socket = new Socket("127.0.0.1", server.getPort())) {
      socket.setSoTimeout(5000);
      OutputStream out = socket.getOutputStream();
      out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      frame(out, 0x4, 0, 0, new byte[0]);
      ByteArrayOutputStream block = new ByteArrayOutputStream();
      literal(block, ":method", "POST");
      literal(block, ":scheme", "http");
      literal(block, ":path", "/consumer.Echo/Bidi");
      literal(block, ":authority", "127.0.0.1");
      literal(block, "content-type", "application/grpc");
      literal(block, "te", "trailers");
      frame(out, 0x1, 0x4, 1, block.toByteArray()); // HEADERS, END_HEADERS, the client's side left open
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
          frame(out, 0x4, 0x1, 0, new byte[0]);
          out.flush();
        } else if (type == 0x1 && stream == 1) {
          assertTrue((flags & 0x1) != 0, "one HEADERS frame with END_STREAM: trailers-only");
          trailersOnly = true;
        } else if (type == 0x3 && stream == 1) {
          assertTrue(trailersOnly, "the reset follows the trailers");
          long code = ((payload[0] & 0xffL) << 24) | ((payload[1] & 0xff) << 16) | ((payload[2] & 0xff) << 8) | (payload[3] & 0xff);
          assertEquals(0, code, "immediate: RST_STREAM(NO_ERROR), which only the guard sends");
          break;
        }
      }
    } finally {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (registry.find("grpc.server.aborts").counters().stream().mapToDouble(c -> c.count()).sum() < 1
        && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(1.0, registry.get("grpc.server.aborts").tag("statusCode", "PERMISSION_DENIED").counter().count());

    if (Boolean.getBoolean("expect.shaded")) {
      assertThrows(ClassNotFoundException.class, () -> Class.forName("io.netty.channel.Channel"),
          "one dependency brings no plain Netty");
      assertThrows(ClassNotFoundException.class, () -> Class.forName("io.grpc.netty.NettyServerBuilder"),
          "one dependency brings no grpc-netty");
    }
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
        (byte) type, (byte) flags, (byte) (stream >>> 24), (byte) (stream >>> 16), (byte) (stream >>> 8), (byte) stream});
    out.write(payload);
  }
}
