package dev.abortguard.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.abortguard.sample.DemoCalls;
import dev.abortguard.sample.proto.DemoRequest;
import dev.abortguard.sample.proto.DemoResponse;
import dev.abortguard.sample.proto.DemoServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import java.io.File;
import java.net.URISyntaxException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import javax.net.ssl.SSLException;

/**
 * What the doc snippets take as given (a service, an auth interceptor, certificate files) and what
 * their tests check them with: a grpc-java client whose call is aborted while it still streams.
 */
final class DocServers {
  static final long TIMEOUT_MS = 10_000;

  private DocServers() {}

  /** An echo service: every method answers each request with its text. */
  static final class EchoService extends DemoServiceGrpc.DemoServiceImplBase {
    @Override
    public StreamObserver<DemoRequest> bidi(StreamObserver<DemoResponse> responses) {
      return new StreamObserver<>() {
        @Override
        public void onNext(DemoRequest request) {
          responses.onNext(DemoResponse.newBuilder().setText(request.getText()).build());
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          responses.onCompleted();
        }
      };
    }
  }

  /** The auth check of the snippets: rejects every call at once with PERMISSION_DENIED. */
  static ServerInterceptor denyAll() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        call.close(Status.PERMISSION_DENIED.withDescription("denied by the doc snippet"), new Metadata());
        return new ServerCall.Listener<>() {};
      }
    };
  }

  /** An interceptor that sends headers first, then rejects the call, as some auth code does. */
  static ServerInterceptor headersThenDeny() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        call.sendHeaders(new Metadata());
        call.close(Status.PERMISSION_DENIED.withDescription("denied after headers"), new Metadata());
        return new ServerCall.Listener<>() {};
      }
    };
  }

  /** The echo service behind {@link #denyAll()}, for snippets that add a service and no interceptor. */
  static ServerServiceDefinition deniedService() {
    return ServerInterceptors.intercept(new EchoService(), denyAll());
  }

  /** A certificate chain or key from src/test/resources/docs/tls (for localhost and 127.0.0.1). */
  static File tlsFile(String name) {
    try {
      return new File(DocServers.class.getResource("/docs/tls/" + name).toURI());
    } catch (URISyntaxException e) {
      throw new AssertionError(e);
    }
  }

  /** A TLS channel to 127.0.0.1 that trusts the doc snippets' certificate. */
  static ManagedChannel tls(int port) throws SSLException {
    return NettyChannelBuilder.forAddress("127.0.0.1", port)
        .sslContext(GrpcSslContexts.forClient().trustManager(tlsFile("server.pem")).build())
        .overrideAuthority("localhost")
        .build();
  }

  /** Asserts that a call still streaming to {@code channel} ends with {@code code}, then closes the channel. */
  static void assertEnds(Status.Code code, ManagedChannel channel) throws InterruptedException {
    try {
      Status status = DemoCalls.bidiStillStreaming(channel, new Metadata()).await();
      assertEquals(code, status.getCode(), () -> "status " + status);
    } finally {
      DemoCalls.shutdown(channel);
    }
  }

  /** Waits until the counters {@code search} finds add up to {@code expected}. */
  static void awaitCount(MeterRegistry registry, UnaryOperator<Search> search, String name, double expected)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
    double count;
    do {
      count = search.apply(registry.find(name)).counters().stream().mapToDouble(Counter::count).sum();
      if (count == expected) {
        return;
      }
      Thread.sleep(10);
    } while (System.nanoTime() < deadline);
    fail(name + " counted " + count + ", not " + expected + ", within " + TIMEOUT_MS + " ms");
  }

  /** The count of every counter named {@code name}, added up (0 when there is none). */
  static double count(MeterRegistry registry, String name) {
    return registry.find(name).counters().stream().mapToDouble(Counter::count).sum();
  }

  /** The count of the counter named {@code name} whose {@code cause} tag is {@code cause}. */
  static double count(MeterRegistry registry, String name, String cause) {
    return registry.find(name).tag("cause", cause).counters().stream().mapToDouble(Counter::count).sum();
  }

  /** Shuts the servers down, each within the timeout. */
  static void shutdown(List<Server> servers) throws InterruptedException {
    for (Server server : servers) {
      server.shutdownNow();
      if (!server.awaitTermination(TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
        fail("server did not terminate within " + TIMEOUT_MS + " ms");
      }
    }
    servers.clear();
  }
}
