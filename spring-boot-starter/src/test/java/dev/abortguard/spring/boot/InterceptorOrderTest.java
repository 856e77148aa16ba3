package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.grpc.ObservationGrpcServerInterceptor;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.grpc.server.exception.GrpcExceptionHandlerInterceptor;

/**
 * The guard sees the aborts of the application's global interceptors and of Boot's own, whatever
 * their order: Boot's observation interceptor ({@code @Order(0)}) and the auth interceptor
 * ({@code @Order(10)}) are service interceptors, the guard's is the server's outermost.
 */
class InterceptorOrderTest {
  @Test
  void abortsOfGlobalInterceptorsAreSeenAndMadeTrailersOnly() throws Exception {
    try (BootApp app = BootApp.start();
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      app.context.getBean(ObservationGrpcServerInterceptor.class); // Boot's observation interceptor is on
      MeterRegistry registry = app.meterRegistry();

      // The auth interceptor sends headers, then rejects: the guard holds the headers back.
      Frame trailers = Wire.abortedBidi(client, Map.of(AuthInterceptor.HEADERS_FIRST, "true"));
      assertEquals(1, client.frames(trailers.streamId()).stream()
          .filter(f -> f.type() == RawHttp2Client.HEADERS).count(),
          "one HEADERS frame, the trailers-only response:\n" + client.describeFrames());
      Meters.awaitCount(registry, 1, "grpc.server.aborts", "statusCode", "PERMISSION_DENIED",
          "response", "trailers_only");
      Meters.awaitCount(registry, 1, "grpc.server.aborts.mitigated", "mitigation", "trailers_only");

      // Boot's exception-handling interceptor turns the service's exception into a status.
      app.context.getBean(GrpcExceptionHandlerInterceptor.class);
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", app.grpcPort()).usePlaintext().build();
      try {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
            () -> ClientCalls.blockingUnaryCall(channel, DemoService.UNARY_METHOD,
                CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS),
                "throw".getBytes(StandardCharsets.UTF_8)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.toString());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      Meters.awaitCount(registry, 1, "grpc.server.aborts", "statusCode", "INVALID_ARGUMENT", "method", "Unary",
          "peer", "half_closed");
      // Boot's observation of the same calls, for comparison: it saw them too.
      assertEquals(2, registry.get("grpc.server").timers().stream().mapToLong(t -> t.count()).sum());
    }
  }
}
