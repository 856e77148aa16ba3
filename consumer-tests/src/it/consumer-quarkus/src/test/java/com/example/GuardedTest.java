package com.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

/**
 * The BOM and abortguard-quarkus alone guard the app: the policy from application.properties acts on
 * the wire, on quarkus-grpc's separate server here and on its unified server in {@link UnifiedServerTest}.
 */
@QuarkusTest
class GuardedTest {
  @Inject AbortGuard guard;
  @Inject MeterRegistry registry;

  @Test
  void abortIsResetAtOnceAndCounted() throws Exception {
    assertEquals(ResetPolicy.IMMEDIATE, guard.config().reset());
    int port = ConfigProvider.getConfig().getValue(portProperty(), Integer.class);
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      CompletableFuture<Status> closed = new CompletableFuture<>();
      ClientCall<byte[], byte[]> call = channel.newCall(EchoService.BIDI, CallOptions.DEFAULT);
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onClose(Status status, Metadata trailers) {
          closed.complete(status);
        }
      }, new Metadata());
      call.sendMessage(new byte[] {1}); // and never half-close: the stream is early-closed
      assertEquals(Status.Code.PERMISSION_DENIED, closed.get(10, TimeUnit.SECONDS).getCode());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (released() < 1 && System.nanoTime() < deadline) {
        java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
      }
      assertEquals(1.0, released(), "the guard's HTTP/2 adapter released the stream with its immediate reset");
      assertTrue(registry.get("grpc.server.aborts").counter().count() >= 1);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** Where the app serves gRPC. */
  String portProperty() {
    return "quarkus.grpc.server.test-port";
  }

  private double released() {
    var counter = registry.find("grpc.server.streams.released").tag("cause", "immediate").counter();
    return counter == null ? 0 : counter.count();
  }
}
