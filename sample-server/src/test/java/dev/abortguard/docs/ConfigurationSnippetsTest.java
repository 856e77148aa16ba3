package dev.abortguard.docs;

import static dev.abortguard.docs.DocServers.assertEnds;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import dev.abortguard.AbortGuardConfig;
import dev.abortguard.ResetPolicy;
import dev.abortguard.sample.DemoCalls;
import io.grpc.Server;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The snippets of docs/configuration.md, and the defaults its table states. */
class ConfigurationSnippetsTest {
  private final MeterRegistry meterRegistry = new SimpleMeterRegistry();
  private final List<Server> servers = new ArrayList<>();

  @AfterEach
  void stopServers() throws InterruptedException {
    DocServers.shutdown(servers);
  }

  @Test
  void oneSetterPerProperty() throws Exception {
    // tag::builder[]
    AbortGuard guard = AbortGuard.builder()
        .reset(ResetPolicy.DEFERRED)                          // abortguard.reset
        .resetGrace(Duration.ofSeconds(10))                   // abortguard.reset.grace
        .lingeringMax(1024)                                   // abortguard.lingering.max
        .lingeringMaxTotal(10_000)                            // abortguard.lingering.maxTotal
        .trailersOnly(true)                                   // abortguard.trailersOnly
        .meterRegistry(meterRegistry)
        .build();
    // end::builder[]

    AbortGuardConfig config = guard.config();
    assertEquals(ResetPolicy.DEFERRED, config.reset());
    assertEquals(Duration.ofSeconds(10), config.resetGrace());
    assertEquals(1024, config.lingeringMax());
    assertEquals(10_000, config.lingeringMaxTotal());
    assertTrue(config.trailersOnly());
    serveOneAbort(guard);
  }

  @Test
  void settingsFromAMap() throws Exception {
    // tag::properties[]
    Map<String, String> settings = Map.of("abortguard.reset", "never", "abortguard.reset.grace", "250ms");
    AbortGuard guard = AbortGuard.builder().properties(settings::get).build();
    // end::properties[]

    assertEquals(ResetPolicy.NEVER, guard.config().reset());
    assertEquals(Duration.ofMillis(250), guard.config().resetGrace());
    serveOneAbort(guard);
  }

  @Test
  void defaultsAreTheTablesDefaults() {
    AbortGuardConfig config = AbortGuard.builder().properties(name -> null).build().config();
    assertTrue(config.enabled());
    assertEquals(ResetPolicy.DEFERRED, config.reset());
    assertEquals(Duration.ofSeconds(10), config.resetGrace());
    assertEquals(1024, config.lingeringMax());
    assertEquals(10_000, config.lingeringMaxTotal());
    assertTrue(config.trailersOnly());
  }

  @Test
  void aBadValueNamesThePropertyAndTheValue() {
    Map<String, String> settings = Map.of("abortguard.reset", "sometimes");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AbortGuard.builder().properties(settings::get).build());
    assertTrue(e.getMessage().contains("abortguard.reset") && e.getMessage().contains("sometimes"), e.getMessage());
  }

  private void serveOneAbort(AbortGuard guard) throws Exception {
    Server server = guard.forPort(0)
        .addService(new DocServers.EchoService())
        .intercept(DocServers.denyAll())
        .build()
        .start();
    servers.add(server);
    assertEnds(Status.Code.PERMISSION_DENIED, DemoCalls.channel(server.getPort()));
  }
}
