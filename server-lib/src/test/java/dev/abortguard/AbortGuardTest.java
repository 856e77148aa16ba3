package dev.abortguard;

import static dev.abortguard.testing.RawHttp2Client.HEADERS;
import static dev.abortguard.testing.RawHttp2Client.NO_ERROR;
import static dev.abortguard.testing.RawHttp2Client.RST_STREAM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.GuardMeters;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import dev.abortguard.testing.TestServers;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every way to wire the guard wrong that issue 9 lists, and the one-line installs: each either
 * works, checked on the wire or in the meters, or fails loudly with the fix in the message.
 */
@ExtendWith(LeakDetectionExtension.class)
class AbortGuardTest implements GuardMeters {
  static final Duration WAIT = Duration.ofSeconds(5);
  static final Map<String, String> ABORT = Map.of(TestServers.ABORT_HEADER, "PERMISSION_DENIED");
  static final String BIDI = TestServers.path(TestServers.BIDI);
  static final Metadata.Key<String> DENY = Metadata.Key.of("x-deny", Metadata.ASCII_STRING_MARSHALLER);

  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final List<LogRecord> logged = new CopyOnWriteArrayList<>();
  final Handler logCapture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      logged.add(record);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  };
  final List<Server> servers = new CopyOnWriteArrayList<>();

  @Override
  public MeterRegistry registry() {
    return registry;
  }

  @BeforeEach
  void captureLogs() {
    Logger.getLogger("dev.abortguard").addHandler(logCapture);
  }

  @AfterEach
  void stopServers() {
    Logger.getLogger("dev.abortguard").removeHandler(logCapture);
    servers.forEach(TestServers::stop);
  }

  AbortGuard guard(ResetPolicy policy) {
    return AbortGuard.builder().properties(n -> null).reset(policy).meterRegistry(registry).build();
  }

  Server start(ServerBuilder<?> builder) {
    try {
      Server server = builder.build().start();
      servers.add(server);
      return server;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  double misconfigured(String problem) {
    return registry.get("abortguard.misconfigured").tag("problem", problem).counter().count();
  }

  List<String> errors() {
    return logged.stream().filter(r -> r.getLevel() == Level.SEVERE).map(LogRecord::getMessage)
        .collect(Collectors.toList());
  }

  static Predicate<Frame> rstOn(int stream) {
    return f -> f.type() == RST_STREAM && f.streamId() == stream;
  }

  /** An aborted bidi call the client leaves open; returns its stream once its trailers arrived. */
  static int abortedCall(RawHttp2Client client, Map<String, String> headers) {
    int stream = client.startCall(BIDI, headers, false);
    Frame trailers = client.awaitFrame(stream, HEADERS, WAIT);
    assertTrue(trailers.endStream(), client.describeFrames());
    assertEquals("7", trailers.header("grpc-status"), client.describeFrames());
    return stream;
  }

  // ------------------------------------------------------------------------ the one-line installs

  @Test
  void forPortIsOneLineAndCarriesBothParts() {
    AbortGuard guard = guard(ResetPolicy.IMMEDIATE);
    Server server = start(TestServers.configure(guard.forPort(0)).addService(TestServers.echoService()));
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      int stream = abortedCall(client, ABORT);
      assertEquals(NO_ERROR, client.awaitFrame(rstOn(stream), WAIT).errorCode(), client.describeFrames());
      assertEquals(1, abortsReaching(1, "peer", "streaming"), client.describeFrames());
      assertEquals(1, released(dev.abortguard.internal.core.ReleaseCause.IMMEDIATE, 1));
    }
    assertEquals(List.of(), errors());
  }

  @Test
  void tlsFromFilesAndFromAnSslContextAreOneLineEach() throws Exception {
    AbortGuard guard = guard(ResetPolicy.IMMEDIATE);
    ServerCredentials fromFiles = TestServers.tlsCredentials();
    ServerCredentials fromSslContext;
    try (InputStream cert = dev.abortguard.testing.TestTls.certificate();
        InputStream key = dev.abortguard.testing.TestTls.privateKey()) {
      fromSslContext = io.grpc.netty.NettySslContextServerCredentials.create(GrpcSslContexts.forServer(cert, key).build());
    }
    for (ServerCredentials credentials : List.of(fromFiles, fromSslContext)) {
      Server server = start(TestServers.configure(guard.forAddress(TestServers.LOOPBACK, credentials))
          .addService(TestServers.echoService()));
      try (RawHttp2Client client = RawHttp2Client.connectTls("127.0.0.1", server.getPort())) {
        int stream = abortedCall(client, ABORT);
        Frame rst = client.awaitFrame(rstOn(stream), WAIT);
        assertEquals(NO_ERROR, rst.errorCode(), client.describeFrames());
      }
    }
    assertEquals(List.of(), errors());
  }

  // ------------------------------------------------------------------------ the table of misuses

  /** Row 1: wrapping twice is idempotent; one aborted stream lingers once, not twice. */
  @Test
  void wrappingTwiceChangesNothing() {
    AbortGuard guard = guard(ResetPolicy.DEFERRED);
    ServerCredentials once = guard.wrap(InsecureServerCredentials.create());
    ServerCredentials twice = guard.wrap(once);
    assertSame(once, twice);
    Server server = start(guard.install(TestServers.configure(NettyServerBuilder.forAddress(TestServers.LOOPBACK, twice))
        .addService(TestServers.echoService())));
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      abortedCall(client, ABORT);
      client.sync();
      assertEquals(1, lingering(), client.describeFrames());
    }
  }

  @Test
  void credentialsAnotherGuardWrappedAreRefused() {
    ServerCredentials wrapped = guard(ResetPolicy.DEFERRED).wrap(InsecureServerCredentials.create());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> guard(ResetPolicy.NEVER).wrap(wrapped));
    assertTrue(e.getMessage().contains("another AbortGuard"), e.getMessage());
  }

  @Test
  void credentialsGrpcNettyCannotUseAreRefusedWithTheFix() {
    ServerCredentials unknown = new ServerCredentials() {};
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> guard(ResetPolicy.DEFERRED).wrap(unknown));
    assertTrue(e.getMessage().contains("InsecureServerCredentials, TlsServerCredentials"), e.getMessage());
  }

  /** Row 2, with the one-line install: changing security afterwards is refused by grpc-java itself. */
  @Test
  void changingSecurityAfterForPortFailsLoudly() throws Exception {
    NettyServerBuilder builder = guard(ResetPolicy.IMMEDIATE).forPort(0);
    try (InputStream cert = dev.abortguard.testing.TestTls.certificate();
        InputStream key = dev.abortguard.testing.TestTls.privateKey()) {
      var sslContext = GrpcSslContexts.forServer(cert, key).build();
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> builder.sslContext(sslContext));
      assertTrue(e.getMessage().contains("ServerCredentials"), e.getMessage());
    }
    assertThrows(IllegalStateException.class, () -> builder.useTransportSecurity(
        dev.abortguard.testing.TestTls.certificate(), dev.abortguard.testing.TestTls.privateKey()));
  }

  /**
   * Row 2, with a builder whose transport never got the guard (install on a plain builder, then
   * sslContext): the first connection reports it, one ERROR line naming the fix and a meter.
   */
  @Test
  void installOnABuilderWithoutGuardedCredentialsIsReportedAtTheFirstConnection() throws Exception {
    AbortGuard guard = guard(ResetPolicy.IMMEDIATE);
    NettyServerBuilder builder = guard.install(TestServers.plaintextBuilder());
    try (InputStream cert = dev.abortguard.testing.TestTls.certificate();
        InputStream key = dev.abortguard.testing.TestTls.privateKey()) {
      builder.sslContext(GrpcSslContexts.forServer(cert, key).build());
    }
    Server server = start(builder);
    for (int i = 0; i < 2; i++) {
      try (RawHttp2Client client = RawHttp2Client.connectTls("127.0.0.1", server.getPort())) {
        int stream = abortedCall(client, ABORT);
        client.sync();
        client.assertNoFrame(rstOn(stream), Duration.ZERO);
      }
    }
    assertEquals(2, GuardMeters.settle(() -> misconfigured("transport_not_guarded"), 2));
    List<String> errors = errors();
    assertEquals(1, errors.size(), "one ERROR line per server: " + errors);
    assertTrue(errors.get(0).contains("guard.forPort(port, credentials)"), errors.get(0));
    assertTrue(errors.get(0).contains("sslContext"), errors.get(0));
  }

  /** Row 3: an interceptor added after the guard still has its aborts counted. */
  @Test
  void abortsOfInterceptorsAddedAfterTheGuardAreCounted() throws Exception {
    AbortGuard guard = guard(ResetPolicy.DEFERRED);
    NettyServerBuilder builder = TestServers.configure(guard.forPort(0)).addService(TestServers.echoService());
    builder.intercept(new Deny()); // after the guard: outermost
    Server server = start(builder);
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      abortedCall(client, Map.of("x-deny", "yes"));
      assertEquals(1, abortsReaching(1, "peer", "streaming", "response", "trailers_only"), client.describeFrames());
      assertEquals(1, mitigatedReaching(1, "mitigation", "reset_withheld"), client.describeFrames());
    }
  }

  /** Row 4: the interceptor added again (and the call layer installed twice) counts once. */
  @Test
  void theInterceptorAddedTwiceCountsOnce() throws Exception {
    AbortGuard guard = guard(ResetPolicy.DEFERRED);
    NettyServerBuilder builder = TestServers.configure(guard.forPort(0)).addService(TestServers.echoService());
    builder.intercept(guard.interceptor());
    guard.install(builder);
    Server server = start(builder);
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      abortedCall(client, ABORT);
      client.sync();
      assertEquals(1, abortsReaching(1), client.describeFrames());
      // Give a double count every chance to show.
      client.sync();
      assertEquals(1, aborts(), client.describeFrames());
      assertEquals(1, mitigated("mitigation", "reset_withheld"), client.describeFrames());
    }
  }

  /**
   * Row 5: one guard serving a Netty server and an in-process server; each reports only what it
   * did. The in-process server withheld no reset, so it counts none.
   */
  @Test
  void oneGuardOnTwoKindsOfServerReportsEachTruthfully() throws Exception {
    AbortGuard guard = guard(ResetPolicy.DEFERRED);
    Server netty = start(TestServers.configure(guard.forPort(0)).addService(TestServers.echoService()));
    String name = InProcessServerBuilder.generateName();
    start(guard.install(InProcessServerBuilder.forName(name).directExecutor().addService(TestServers.echoService())));

    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    try {
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of(TestServers.ABORT_HEADER, Metadata.ASCII_STRING_MARSHALLER), "PERMISSION_DENIED");
      CompletableFuture<Status> closed = new CompletableFuture<>();
      ClientCall<byte[], byte[]> call = channel.newCall(TestServers.BIDI, CallOptions.DEFAULT);
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onClose(Status status, Metadata trailers) {
          closed.complete(status);
        }
      }, headers);
      call.sendMessage(new byte[] {1});
      assertEquals(Status.Code.PERMISSION_DENIED, closed.get(5, TimeUnit.SECONDS).getCode());
      assertEquals(1, abortsReaching(1), "the in-process abort");
      assertEquals(0, mitigated("mitigation", "reset_withheld"), "in-process withholds no reset");
    } finally {
      channel.shutdownNow();
    }

    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", netty.getPort())) {
      abortedCall(client, ABORT);
      assertEquals(2, abortsReaching(2), client.describeFrames());
      assertEquals(1, mitigatedReaching(1, "mitigation", "reset_withheld"), "only the Netty server withheld one");
    }
  }

  /**
   * Row 6: a builder made elsewhere from wrapped credentials ({@code Grpc.newServerBuilderForPort})
   * works whatever order install and the application's interceptors come in.
   */
  @Test
  void aBuilderFromWrappedCredentialsTakesInstallInAnyOrder() {
    AbortGuard guard = guard(ResetPolicy.IMMEDIATE);
    ServerBuilder<?> builder = Grpc.newServerBuilderForPort(0, guard.wrap(InsecureServerCredentials.create()));
    guard.install(builder);
    builder.addService(TestServers.echoService()).intercept(new Deny());
    ((NettyServerBuilder) builder).permitKeepAliveTime(0, TimeUnit.NANOSECONDS);
    Server server = start(builder);
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      int stream = abortedCall(client, Map.of("x-deny", "yes"));
      assertEquals(NO_ERROR, client.awaitFrame(rstOn(stream), WAIT).errorCode(), client.describeFrames());
      assertEquals(1, abortsReaching(1), client.describeFrames());
    }
    assertEquals(List.of(), errors());
  }

  /** Wrapped credentials without the call layer: the first call says what is missing. */
  @Test
  void wrappedCredentialsWithoutInstallAreReported() {
    AbortGuard guard = guard(ResetPolicy.IMMEDIATE);
    Server server = start(TestServers.configure(
        NettyServerBuilder.forAddress(TestServers.LOOPBACK, guard.wrap(InsecureServerCredentials.create())))
        .addService(TestServers.echoService()));
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      int first = abortedCall(client, ABORT);
      abortedCall(client, ABORT);
      assertEquals(NO_ERROR, client.awaitFrame(rstOn(first), WAIT).errorCode(), "the HTTP/2 part still works");
      assertEquals(2, misconfigured("call_layer_missing"), client.describeFrames());
    }
    List<String> errors = errors();
    assertEquals(1, errors.size(), errors.toString());
    assertTrue(errors.get(0).contains("guard.install(builder)"), errors.get(0));
  }

  /**
   * Headers sent by an interceptor outside the guard's, then an abort: it cannot be made
   * trailers-only, and the guard says which fix applies; adding the interceptor last fixes it.
   */
  @Test
  void headersSentOutsideTheGuardsInterceptorAreReportedAndTheFixWorks() {
    for (boolean fixed : new boolean[] {false, true}) {
      logged.clear();
      AbortGuard guard = guard(ResetPolicy.DEFERRED);
      NettyServerBuilder builder = TestServers.configure(guard.forPort(0)).addService(TestServers.echoService());
      builder.intercept(new HeadersThenDeny());
      if (fixed) {
        builder.intercept(guard.interceptor());
      }
      Server server = start(builder);
      try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
        int stream = client.startCall(BIDI, Map.of("x-deny", "yes"), false);
        Frame first = client.awaitFrame(stream, HEADERS, WAIT);
        if (fixed) {
          assertTrue(first.endStream(), "trailers-only once the guard's interceptor is outermost\n" + client.describeFrames());
          assertEquals(1, abortsReaching(1, "response", "trailers_only"), client.describeFrames());
          assertEquals(List.of(), errors());
        } else {
          client.awaitFrame(f -> f.streamId() == stream && f.type() == HEADERS && f.endStream(), WAIT);
          assertEquals(1, abortsReaching(1, "response", "headers_then_trailers"), client.describeFrames());
          assertEquals(1, misconfigured("headers_outside_interceptor"));
          assertEquals(1, errors().size(), errors().toString());
          assertTrue(errors().get(0).contains("guard.interceptor() after your last"), errors().get(0));
        }
      }
    }
  }

  @Test
  void aDisabledGuardInstallsNothing() {
    AbortGuard guard = AbortGuard.builder().properties(n -> null).enabled(false).meterRegistry(registry).build();
    Server server = start(TestServers.configure(guard.forPort(0)).addService(TestServers.echoService()));
    try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) {
      int stream = abortedCall(client, ABORT);
      client.sync();
      client.assertNoFrame(rstOn(stream), Duration.ZERO);
    }
    assertTrue(registry.getMeters().isEmpty(), "no meters: " + registry.getMeters());
    assertNull(registry.find("abortguard.misconfigured").counter());
  }

  /** Denies calls carrying {@code x-deny} at once, as an auth interceptor does. */
  static final class Deny implements ServerInterceptor {
    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
        ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
      if (headers.get(DENY) == null) {
        return next.startCall(call, headers);
      }
      call.close(Status.PERMISSION_DENIED.withDescription("denied"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
  }

  /** Sends response headers, then denies: an interceptor the guard cannot fix from inside. */
  static final class HeadersThenDeny implements ServerInterceptor {
    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
        ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
      if (headers.get(DENY) == null) {
        return next.startCall(call, headers);
      }
      ServerCall<ReqT, RespT> forwarding = new SimpleForwardingServerCall<>(call) {};
      forwarding.sendHeaders(new Metadata());
      forwarding.close(Status.PERMISSION_DENIED.withDescription("denied"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
  }
}
