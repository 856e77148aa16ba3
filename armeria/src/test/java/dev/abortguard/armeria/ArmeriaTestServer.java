package dev.abortguard.armeria;

import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.SessionProtocol;
import com.linecorp.armeria.server.Server;
import com.linecorp.armeria.server.ServerBuilder;
import com.linecorp.armeria.server.grpc.GrpcService;
import com.linecorp.armeria.server.grpc.GrpcServiceBuilder;
import dev.abortguard.AbortGuard;
import dev.abortguard.testing.GuardMeters;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.TestServers;
import dev.abortguard.testing.TestTls;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;

/**
 * An Armeria server on 127.0.0.1 serving {@link TestServers#echoService()} (with its {@code
 * x-test-abort} interceptor) and {@link #HEADERS_FIRST_PATH} from a {@code GrpcService}, stock or guarded by {@link
 * AbortGuardArmeria#install} plus the guard's interceptor, recording into {@link #registry}.
 * Responses say {@code content-type: application/grpc}, as grpc-java's do, where Armeria would say
 * {@code application/grpc+proto}: a test-only decorator renames it so that the shared expectations
 * apply unchanged.
 */
final class ArmeriaTestServer implements AutoCloseable, GuardMeters {
  private static final MediaType PROTO = MediaType.parse("application/grpc+proto");
  private static final MediaType GRPC = MediaType.parse("application/grpc");

  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  /** The guard on the server, or null for a stock server. */
  final AbortGuard guard;
  private static final String HEADERS_FIRST_SERVICE = "test.HeadersFirst";
  /**
   * A Bidi method whose interceptor sends response headers with {@code x-early: yes}, then aborts
   * with PERMISSION_DENIED, as a server that sends headers eagerly does.
   */
  static final String HEADERS_FIRST_PATH = "/" + HEADERS_FIRST_SERVICE + "/Bidi";
  static final Metadata.Key<String> EARLY_HEADER = Metadata.Key.of("x-early", Metadata.ASCII_STRING_MARSHALLER);

  private static final List<CompletableFuture<Void>> stopping =
      java.util.Collections.synchronizedList(new java.util.ArrayList<>());

  private final Server server;
  private final boolean tls;

  private ArmeriaTestServer(UnaryOperator<AbortGuard.Builder> guardOptions, List<SessionProtocol> protocols,
      BiConsumer<ServerBuilder, AbortGuard> customize) {
    this.tls = protocols.contains(SessionProtocol.HTTPS);
    this.guard = guardOptions == null
        ? null
        : guardOptions.apply(AbortGuard.builder().properties(name -> null).meterRegistry(registry)).build();
    ServerBuilder builder = Server.builder()
        .meterRegistry(new SimpleMeterRegistry())
        // Tests close connections themselves; stopping the server should not wait for them.
        .gracefulShutdownTimeout(Duration.ZERO, Duration.ZERO);
    InetSocketAddress address = new InetSocketAddress("127.0.0.1", 0);
    if (tls) {
      try (InputStream cert = TestTls.certificate();
          InputStream key = TestTls.privateKey()) {
        builder.port(address, protocols).tls(cert, key);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    } else {
      builder.port(address, protocols);
    }
    if (guard != null) {
      AbortGuardArmeria.install(guard, builder);
    }
    GrpcServiceBuilder grpc = GrpcService.builder()
        .addService(TestServers.echoService())
        .addService(headersFirstService());
    if (guard != null) {
      grpc.intercept(guard.interceptor());
    }
    builder.service(grpc.build());
    // Armeria answers application/grpc with application/grpc+proto; the shared expectations (written
    // for grpc-java) want the former. Both are gRPC's; only the name changes, not the frames.
    builder.decorator((delegate, ctx, req) -> delegate.serve(ctx, req).mapHeaders(headers ->
        PROTO.equals(headers.contentType())
            ? headers.toBuilder().contentType(GRPC).build()
            : headers));
    customize.accept(builder, guard);
    this.server = builder.build();
    server.start().join();
  }

  /** The service of {@link #HEADERS_FIRST_PATH}. */
  private static ServerServiceDefinition headersFirstService() {
    MethodDescriptor<byte[], byte[]> bidi = TestServers.BIDI.toBuilder()
        .setFullMethodName(MethodDescriptor.generateFullMethodName(HEADERS_FIRST_SERVICE, "Bidi"))
        .build();
    ServerServiceDefinition service = ServerServiceDefinition.builder(HEADERS_FIRST_SERVICE)
        .addMethod(bidi, ServerCalls.asyncBidiStreamingCall(TestServers::echo))
        .build();
    ServerInterceptor headersThenAbort = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
          ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        Metadata early = new Metadata();
        early.put(EARLY_HEADER, "yes");
        call.sendHeaders(early);
        call.close(Status.PERMISSION_DENIED.withDescription(TestServers.ABORT_DESCRIPTION), new Metadata());
        return new ServerCall.Listener<>() {};
      }
    };
    return ServerInterceptors.intercept(service, headersThenAbort);
  }

  /** A guarded plaintext server; {@code guardOptions} configures a builder that reads no system properties. */
  static ArmeriaTestServer start(UnaryOperator<AbortGuard.Builder> guardOptions) {
    return start(guardOptions, (b, guard) -> { });
  }

  /**
   * Like {@link #start}, with more server settings, given the builder and the guard installed on
   * it ({@code guardOptions} null: stock, and the guard null).
   */
  static ArmeriaTestServer start(UnaryOperator<AbortGuard.Builder> guardOptions,
      BiConsumer<ServerBuilder, AbortGuard> customize) {
    return new ArmeriaTestServer(guardOptions, List.of(SessionProtocol.HTTP), customize);
  }

  /**
   * Like {@link #start}, over TLS with the test certificate ({@code guardOptions} null: stock), or
   * on a port that speaks each of {@code protocols}.
   */
  static ArmeriaTestServer startTls(UnaryOperator<AbortGuard.Builder> guardOptions, SessionProtocol... protocols) {
    List<SessionProtocol> on = protocols.length == 0 ? List.of(SessionProtocol.HTTPS) : List.of(protocols);
    return new ArmeriaTestServer(guardOptions, on, (b, guard) -> { });
  }

  /** A stock Armeria server: no guard at all. */
  static ArmeriaTestServer startStock() {
    return start(null);
  }

  @Override
  public io.micrometer.core.instrument.MeterRegistry registry() {
    return registry;
  }

  int port() {
    return server.activeLocalPort();
  }

  RawHttp2Client connect() {
    return tls ? RawHttp2Client.connectTls("127.0.0.1", port()) : RawHttp2Client.connect("127.0.0.1", port());
  }

  /** Stops the server (its graceful shutdown); the future completes once it has. */
  CompletableFuture<Void> stop() {
    CompletableFuture<Void> stopped = server.stop();
    stopping.add(stopped);
    return stopped;
  }

  /**
   * Starts stopping the server and returns at once: an Armeria server takes 2 s to stop even without
   * connections (its acceptor threads' graceful shutdown), so test classes wait for all of theirs
   * together in {@link #awaitAllStopped()}.
   */
  @Override
  public void close() {
    stop();
  }

  /** Waits for every server this class started stopping to have stopped. */
  static void awaitAllStopped() {
    CompletableFuture<?>[] all;
    synchronized (stopping) {
      all = stopping.toArray(new CompletableFuture<?>[0]);
      stopping.clear();
    }
    CompletableFuture.allOf(all).join();
  }
}
