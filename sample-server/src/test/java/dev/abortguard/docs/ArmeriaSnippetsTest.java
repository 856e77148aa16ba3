package dev.abortguard.docs;

import static dev.abortguard.docs.DocServers.assertEnds;
import static dev.abortguard.docs.DocServers.awaitCount;

import com.linecorp.armeria.server.Server;
import com.linecorp.armeria.server.grpc.GrpcService;
import dev.abortguard.AbortGuard;
import dev.abortguard.armeria.AbortGuardArmeria;
import dev.abortguard.sample.DemoCalls;
import io.grpc.BindableService;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

/** The snippet of docs/armeria.md, run on a free port. */
class ArmeriaSnippetsTest {
  private final MeterRegistry meterRegistry = new SimpleMeterRegistry();
  private final BindableService myService = new DocServers.EchoService();
  private final ServerInterceptor authInterceptor = DocServers.denyAll();
  /** The docs' port: a free one. */
  private final int port = 0;

  @Test
  void installOnTheServerAndInterceptEachService() throws Exception {
    AbortGuard guard = AbortGuard.builder().meterRegistry(meterRegistry).build();

    // tag::armeria[]
    Server server = AbortGuardArmeria.install(guard, Server.builder())   // every HTTP/2 connection
        .http(port)
        .service(GrpcService.builder()
            .addService(myService)
            .intercept(authInterceptor, guard.interceptor())             // the guard's last: outermost
            .build())
        .build();
    // end::armeria[]

    server.start().join();
    try {
      assertEnds(Status.Code.PERMISSION_DENIED, DemoCalls.channel(server.activeLocalPort()));
      awaitCount(meterRegistry, s -> s.tag("statusCode", "PERMISSION_DENIED"), "grpc.server.aborts", 1);
    } finally {
      server.stop().join();
    }
  }
}
