package dev.abortguard.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.sample.e2e.CoreClient;
import dev.abortguard.sample.e2e.CoreClient.Behaviour;
import dev.abortguard.sample.e2e.CoreClient.Result;
import dev.abortguard.sample.e2e.CoreClient.Shape;
import dev.abortguard.sample.e2e.E2eTools;
import dev.abortguard.sample.e2e.HaproxyProcess;
import io.quarkus.test.QuarkusUnitTest;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control: {@code immediate} (plaintext) keeps every status direct and loses most through
 * HAProxy 2.6, which shows the rig reproduces the proxy bug on the Quarkus application too.
 */
class ImmediateThroughHaproxyTest {
  static final int CALLS = DeferredSeparateServerTest.CALLS;

  @RegisterExtension
  static final QuarkusUnitTest app = new QuarkusUnitTest()
      .withApplicationRoot(jar -> jar.addClasses(DemoService.class, AuthInterceptor.class, QuarkusApp.class))
      .overrideConfigKey("quarkus.grpc.server.test-port", "0")
      .overrideConfigKey("quarkus.grpc.server.host", "127.0.0.1")
      .overrideConfigKey("quarkus.http.test-port", "0")
      .overrideConfigKey("quarkus.http.host", "127.0.0.1")
      .overrideConfigKey("smallrye.config.mapping.validate-unknown", "false")
      .overrideConfigKey("abortguard.reset", "immediate");

  @Test
  void immediateLosesStatusesThroughHaproxyButNotDirect(@TempDir Path dir) throws Exception {
    E2eTools.requireProxyTools();
    try (HaproxyProcess haproxy = HaproxyProcess.start(QuarkusApp.grpcPort(), dir)) {
      CoreClient client = new CoreClient(dir.resolve("client"));
      Result direct = client.run("127.0.0.1:" + QuarkusApp.grpcPort(), Shape.BIDI, Behaviour.KEEPS_SENDING, CALLS,
          4, "PERMISSION_DENIED");
      Result proxied = client.run(haproxy.target(), Shape.BIDI, Behaviour.KEEPS_SENDING, CALLS, 4, "PERMISSION_DENIED");
      System.out.println("Quarkus separate server, immediate, direct: " + direct
          + "\nimmediate, through HAProxy 2.6: " + proxied);
      assertEquals(Map.of(DeferredSeparateServerTest.REAL_STATUS, CALLS), direct.messages(), direct.toString());
      assertTrue(proxied.count("CANCELLED") > CALLS / 2,
          "immediate through HAProxy 2.6 should reproduce the proxy bug for most calls: " + proxied + "\n"
              + haproxy.describe());
    }
  }
}
