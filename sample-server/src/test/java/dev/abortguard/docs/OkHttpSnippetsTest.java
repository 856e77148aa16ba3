package dev.abortguard.docs;

import static dev.abortguard.docs.DocServers.assertEnds;
import static dev.abortguard.docs.DocServers.awaitCount;

import dev.abortguard.AbortGuard;
import dev.abortguard.okhttp.AbortGuardOkHttp;
import dev.abortguard.sample.DemoCalls;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The snippet of docs/grpc-okhttp.md, plaintext and TLS, each on a free port. */
class OkHttpSnippetsTest {
  private final MeterRegistry meterRegistry = new SimpleMeterRegistry();
  /** A service whose calls are rejected at once, as an auth check would. */
  private final ServerServiceDefinition myService = DocServers.deniedService();
  /** The docs' ports: free ones. */
  private final int port = 0;
  private final int tlsPort = 0;
  private final List<Server> servers = new ArrayList<>();

  @AfterEach
  void stopServers() throws InterruptedException {
    DocServers.shutdown(servers);
  }

  @Test
  void forPortPlaintextAndTls() throws Exception {
    AbortGuard guard = AbortGuard.builder().meterRegistry(meterRegistry).build();
    File certChain = DocServers.tlsFile("server.pem");
    File privateKey = DocServers.tlsFile("server.key");

    // tag::okhttp[]
    Server server = AbortGuardOkHttp.forPort(guard, port)                          // plaintext
        .addService(myService)
        .build().start();
    Server tlsServer = AbortGuardOkHttp.forPort(guard, tlsPort, TlsServerCredentials.create(certChain, privateKey))
        .addService(myService)
        .build().start();
    // end::okhttp[]
    servers.add(server);
    servers.add(tlsServer);

    assertEnds(Status.Code.PERMISSION_DENIED, DemoCalls.channel(server.getPort()));
    assertEnds(Status.Code.PERMISSION_DENIED, DocServers.tls(tlsServer.getPort()));
    awaitCount(meterRegistry, s -> s.tag("statusCode", "PERMISSION_DENIED"), "grpc.server.aborts", 2);
  }
}
