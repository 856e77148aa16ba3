package dev.abortguard.docs;

import static dev.abortguard.docs.DocServers.assertEnds;
import static dev.abortguard.docs.DocServers.awaitCount;
import static dev.abortguard.docs.DocServers.count;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.AbortGuard;
import dev.abortguard.sample.DemoCalls;
import io.grpc.BindableService;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.NettySslContextServerCredentials;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.ssl.SslContext;
import java.io.File;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The grpc-netty snippets of README.md and docs/grpc-netty.md. Each test runs its snippet as the
 * docs show it, on a free port, and makes a call that the server rejects while the client still
 * streams.
 */
class GrpcNettySnippetsTest {
  private final MeterRegistry meterRegistry = new SimpleMeterRegistry();
  private final BindableService myService = new DocServers.EchoService();
  private final ServerInterceptor authInterceptor = DocServers.denyAll();
  /** The docs' port: a free one. */
  private final int port = 0;
  private final List<Server> servers = new ArrayList<>();

  @AfterEach
  void stopServers() throws InterruptedException {
    DocServers.shutdown(servers);
  }

  @Test
  void quickStart() throws Exception {
    // tag::quick-start[]
    AbortGuard guard = AbortGuard.builder().meterRegistry(meterRegistry).build();

    Server server = guard.forPort(port)                       // plaintext
        .addService(myService)
        .intercept(authInterceptor)                           // any order
        .build()
        .start();
    // end::quick-start[]
    servers.add(server);

    assertEnds(Status.Code.PERMISSION_DENIED, DemoCalls.channel(server.getPort()));
    awaitCount(meterRegistry, s -> s.tag("statusCode", "PERMISSION_DENIED").tag("response", "trailers_only"),
        "grpc.server.aborts", 1);
    assertEquals(0, count(meterRegistry, "abortguard.misconfigured"));
  }

  @Test
  void serverKinds() throws Exception {
    AbortGuard guard = AbortGuard.builder().meterRegistry(meterRegistry).build();
    File certChainFile = DocServers.tlsFile("server.pem");
    File privateKeyFile = DocServers.tlsFile("server.key");
    SslContext sslContext = GrpcSslContexts.forServer(certChainFile, privateKeyFile).build();
    SocketAddress address = new InetSocketAddress("127.0.0.1", 0);
    ServerCredentials credentials = InsecureServerCredentials.create();

    // tag::server-kinds[]
    NettyServerBuilder plaintext = guard.forPort(port);
    NettyServerBuilder tlsFromPem = guard.forPort(port, TlsServerCredentials.create(certChainFile, privateKeyFile));
    NettyServerBuilder tlsFromSslContext = guard.forPort(port, NettySslContextServerCredentials.create(sslContext));
    NettyServerBuilder onAnAddress = guard.forAddress(address, credentials);
    // end::server-kinds[]

    assertEnds(Status.Code.PERMISSION_DENIED, DemoCalls.channel(start(plaintext).getPort()));
    assertEnds(Status.Code.PERMISSION_DENIED, DocServers.tls(start(tlsFromPem).getPort()));
    assertEnds(Status.Code.PERMISSION_DENIED, DocServers.tls(start(tlsFromSslContext).getPort()));
    assertEnds(Status.Code.PERMISSION_DENIED, DemoCalls.channel(start(onAnAddress).getPort()));
    awaitCount(meterRegistry, s -> s.tag("statusCode", "PERMISSION_DENIED"), "grpc.server.aborts", 4);
    assertEquals(0, count(meterRegistry, "abortguard.misconfigured"));
  }

  @Test
  void builderMadeElsewhere() throws Exception {
    AbortGuard guard = AbortGuard.builder().meterRegistry(meterRegistry).build();
    ServerCredentials credentials = InsecureServerCredentials.create();

    // tag::made-elsewhere[]
    NettyServerBuilder builder = NettyServerBuilder.forPort(port, guard.wrap(credentials))
        .maxConcurrentCallsPerConnection(100);
    guard.install(builder);
    // end::made-elsewhere[]

    assertEnds(Status.Code.PERMISSION_DENIED, DemoCalls.channel(start(builder).getPort()));
    awaitCount(meterRegistry, s -> s.tag("statusCode", "PERMISSION_DENIED"), "grpc.server.aborts", 1);
    assertEquals(0, count(meterRegistry, "abortguard.misconfigured"));
  }

  @Test
  void interceptorAfterYourLastIntercept() throws Exception {
    AbortGuard guard = AbortGuard.builder().meterRegistry(meterRegistry).build();
    ServerInterceptor headersFirstInterceptor = DocServers.headersThenDeny();

    // tag::interceptor-outermost[]
    Server server = guard.forPort(port)
        .addService(myService)
        .intercept(headersFirstInterceptor)                   // sends headers, then may abort
        .intercept(guard.interceptor())                       // after your last intercept(...)
        .build()
        .start();
    // end::interceptor-outermost[]
    servers.add(server);

    assertEnds(Status.Code.PERMISSION_DENIED, DemoCalls.channel(server.getPort()));
    awaitCount(meterRegistry, s -> s.tag("response", "trailers_only"), "grpc.server.aborts", 1);
    assertEquals(0, count(meterRegistry, "abortguard.misconfigured"));
  }

  /** Without the last line of the snippet above, the abort is not trailers-only, and says so. */
  @Test
  void withoutTheOutermostInterceptorTheMistakeIsReported() throws Exception {
    AbortGuard guard = AbortGuard.builder().meterRegistry(meterRegistry).build();
    Server server = guard.forPort(port)
        .addService(myService)
        .intercept(DocServers.headersThenDeny())
        .build()
        .start();
    servers.add(server);

    assertEnds(Status.Code.PERMISSION_DENIED, DemoCalls.channel(server.getPort()));
    awaitCount(meterRegistry, s -> s.tag("response", "headers_then_trailers"), "grpc.server.aborts", 1);
    awaitCount(meterRegistry, s -> s.tag("problem", "headers_outside_interceptor"), "abortguard.misconfigured", 1);
  }

  private Server start(NettyServerBuilder builder) throws Exception {
    Server server = builder.addService(myService).intercept(authInterceptor).build().start();
    servers.add(server);
    return server;
  }
}
