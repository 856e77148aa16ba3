package com.example;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;

/** The same app on quarkus-grpc's unified server (gRPC on the HTTP port, through Vert.x's gRPC server). */
@QuarkusTest
@TestProfile(UnifiedServerTest.Unified.class)
class UnifiedServerTest extends GuardedTest {
  @Override
  String portProperty() {
    return "quarkus.http.test-port";
  }

  /** {@code quarkus.grpc.server.use-separate-server=false}. */
  public static class Unified implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
      return Map.of("quarkus.grpc.server.use-separate-server", "false");
    }
  }
}
