package dev.abortguard.micronaut.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.abortguard.micronaut.AuthInterceptor;
import dev.abortguard.micronaut.DemoService;
import dev.abortguard.micronaut.MicronautApp;
import dev.abortguard.sample.e2e.CoreClient;
import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.CoreClient.Shape;
import dev.abortguard.sample.e2e.E2eTools;
import dev.abortguard.sample.e2e.HaproxyProcess;
import dev.abortguard.testing.TestServers;
import dev.abortguard.testing.TestTls;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The acceptance check: a Micronaut application with its own TLS ({@code grpc.server.ssl.*})
 * and message-size setting, behind HAProxy 2.6 that speaks TLS with ALPN h2 to it, and a C-core
 * client: every call the auth interceptor bean rejects ends PERMISSION_DENIED, bidi and
 * client-streaming, and a message over Micronaut's limit is still refused.
 */
class TlsBackendThroughHaproxyTest {
  static final int CALLS = 200;
  static final String REAL_STATUS = "PERMISSION_DENIED: " + AuthInterceptor.DESCRIPTION;
  static final MethodDescriptor<byte[], byte[]> UNARY = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(DemoService.UNARY.substring(1))
      .setRequestMarshaller(TestServers.bytesMarshaller())
      .setResponseMarshaller(TestServers.bytesMarshaller())
      .build();

  @TempDir Path dir;

  @BeforeEach
  void requireTools() {
    E2eTools.requireProxyTools();
  }

  @Test
  void everyStatusSurvivesAndMicronautsSettingsHold() throws Exception {
    try (MicronautApp app = MicronautApp.start(
            "grpc.server.ssl.cert-chain", "classpath:tls/server.pem",
            "grpc.server.ssl.private-key", "classpath:tls/server.key",
            "grpc.server.max-inbound-message-size", "1000");
        HaproxyProcess haproxy = HaproxyProcess.startTlsBackend(app.grpcPort(), dir, ca())) {
      CoreClient client = new CoreClient(dir.resolve("client"));
      for (Shape shape : Shape.values()) {
        Result proxied = client.run(haproxy.target(), shape, Behaviour.KEEPS_SENDING, CALLS, 4, "PERMISSION_DENIED");
        System.out.println("Micronaut TLS backend, deferred, " + shape + ", through HAProxy 2.6: " + proxied);
        assertEquals(Map.of(REAL_STATUS, CALLS), proxied.messages(), proxied + "\n" + haproxy.describe());
      }
      assertEquals(2 * CALLS, app.abortsReaching(2 * CALLS, "statusCode", "PERMISSION_DENIED"));

      ManagedChannel channel = NettyChannelBuilder.forTarget(haproxy.target()).usePlaintext().build();
      try {
        assertArrayEquals(new byte[500], ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT, new byte[500]));
        StatusRuntimeException tooBig = assertThrows(StatusRuntimeException.class,
            () -> ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT, new byte[2000]));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, tooBig.getStatus().getCode(), tooBig.toString());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /** The control: the policy reaches the TLS connections, so {@code immediate} brings the proxy bug back. */
  @Test
  void immediateOverTlsLosesStatusesThroughHaproxy() throws Exception {
    try (MicronautApp app = MicronautApp.start(
            "grpc.server.ssl.cert-chain", "classpath:tls/server.pem",
            "grpc.server.ssl.private-key", "classpath:tls/server.key",
            "abortguard.reset", "immediate");
        HaproxyProcess haproxy = HaproxyProcess.startTlsBackend(app.grpcPort(), dir, ca())) {
      Result proxied = new CoreClient(dir.resolve("client")).run(haproxy.target(), Shape.BIDI, Behaviour.KEEPS_SENDING,
          CALLS, 4, "PERMISSION_DENIED");
      System.out.println("Micronaut TLS backend, immediate, BIDI, through HAProxy 2.6: " + proxied);
      org.junit.jupiter.api.Assertions.assertTrue(proxied.count("CANCELLED") > CALLS / 2, proxied + "\n" + haproxy.describe());
    }
  }

  private Path ca() throws java.io.IOException {
    Path ca = dir.resolve("ca.pem");
    if (!Files.exists(ca)) {
      try (InputStream cert = TestTls.certificate()) {
        Files.copy(cert, ca);
      }
    }
    return ca;
  }
}
