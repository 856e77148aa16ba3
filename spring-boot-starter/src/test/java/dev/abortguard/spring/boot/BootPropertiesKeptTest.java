package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;

/**
 * Guarding Spring Boot's factory keeps Boot's configuration of it: a {@code spring.grpc.server.*}
 * property (applied by Boot's own builder customizer) and a {@code GrpcServerFactoryCustomizer}'s
 * service filter still take effect.
 */
class BootPropertiesKeptTest {
  @Test
  void inboundMessageMaxSizeStillApplies() throws Exception {
    try (BootApp app = BootApp.start(WebApplicationType.NONE, List.of(HiddenServiceConfiguration.class),
        "--spring.grpc.server.inbound.message.max-size=10B")) {
      assertInstanceOf(GuardedNettyGrpcServerFactory.class, app.grpcServerFactory());
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", app.grpcPort()).usePlaintext().build();
      try {
        byte[] small = new byte[5];
        assertArrayEquals(small, ClientCalls.blockingUnaryCall(channel, DemoService.UNARY_METHOD,
            CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), small));

        StatusRuntimeException tooBig = assertThrows(StatusRuntimeException.class,
            () -> ClientCalls.blockingUnaryCall(channel, DemoService.UNARY_METHOD,
                CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), new byte[100]));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, tooBig.getStatus().getCode(), tooBig.toString());

        // The service the GrpcServerFactoryCustomizer's filter keeps out stays out.
        StatusRuntimeException hidden = assertThrows(StatusRuntimeException.class,
            () -> ClientCalls.blockingUnaryCall(channel, HiddenServiceConfiguration.METHOD,
                CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), small));
        assertEquals(Status.Code.UNIMPLEMENTED, hidden.getStatus().getCode(), hidden.toString());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }
}
