package dev.abortguard.spring.boot.shaded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.abortguard.spring.boot.AuthInterceptor;
import dev.abortguard.spring.boot.BootApp;
import dev.abortguard.spring.boot.DemoService;
import dev.abortguard.spring.boot.GuardedShadedNettyGrpcServerFactory;
import dev.abortguard.spring.boot.Meters;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Spring Boot's grpc-netty-shaded server, with abortguard's grpc-netty-shaded jar (run by the
 * {@code grpc-netty-shaded} surefire execution, whose classpath has neither plain grpc-netty nor
 * the plain abortguard jar): the shaded factory is guarded, and the policy shows on the wire.
 */
class ShadedFactoryTest {
  @Test
  void bootsShadedFactoryIsGuarded() {
    assertThrows(ClassNotFoundException.class, () -> Class.forName("io.grpc.netty.NettyServerBuilder"));
    try (BootApp app = BootApp.start("--abortguard.reset=immediate");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      assertInstanceOf(GuardedShadedNettyGrpcServerFactory.class, app.grpcServerFactory());
      int id = client.startCall(DemoService.BIDI, Map.of(AuthInterceptor.ABORT, "PERMISSION_DENIED"), false);
      Frame trailers = client.awaitFrame(id, RawHttp2Client.HEADERS, Duration.ofSeconds(5));
      assertEquals("7", trailers.header("grpc-status"), client.describeFrames());
      Frame reset = client.awaitFrame(f -> f.type() == RawHttp2Client.RST_STREAM && f.streamId() == id,
          Duration.ofSeconds(5));
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
      assertEquals(trailers.readBatch(), reset.readBatch(), client.describeFrames());
      Meters.awaitCount(app.meterRegistry(), 1, "grpc.server.aborts");
    }
  }
}
