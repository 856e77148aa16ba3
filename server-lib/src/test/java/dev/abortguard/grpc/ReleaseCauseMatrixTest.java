package dev.abortguard.grpc;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.LateFrames;
import dev.abortguard.testing.ReleaseCauseMatrix;
import dev.abortguard.testing.ReleaseCauseMatrix.Scenario;
import dev.abortguard.testing.TestServers;
import io.grpc.InsecureServerCredentials;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The shared release-cause matrix ({@link ReleaseCauseMatrix}) on grpc-netty. */
@ExtendWith(LeakDetectionExtension.class)
class ReleaseCauseMatrixTest implements ReleaseCauseMatrix.Stack {
  @ParameterizedTest(name = "{0} / {1}")
  @MethodSource("dev.abortguard.testing.ReleaseCauseMatrix#policiesAndScenarios")
  void metricsEqualTheWire(ResetPolicy policy, Scenario scenario) {
    ReleaseCauseMatrix.run(this, policy, scenario);
  }

  @ParameterizedTest(name = "{0} / late {1}")
  @MethodSource("dev.abortguard.testing.LateFrames#policiesAndKinds")
  void lateFramesOnReleasedStreamsKeepTheConnection(ResetPolicy policy, LateFrames.Kind kind) {
    LateFrames.run(this, policy, kind);
  }

  @Override
  public ReleaseCauseMatrix.Server start(UnaryOperator<AbortGuard.Builder> guardOptions, boolean maxAge) {
    GuardedTestServer server = GuardedTestServer.start(guardOptions, InsecureServerCredentials.create(),
        b -> maxAge
            ? TestServers.withEcho(b).maxConnectionAge(300, TimeUnit.MILLISECONDS).maxConnectionAgeGrace(1, TimeUnit.MINUTES)
            : TestServers.withEcho(b));
    return new ReleaseCauseMatrix.Server(server, server::connect, server.server::shutdown, server::close);
  }

  @Override
  public ReleaseCause shutdownCause() {
    return ReleaseCause.SHUTDOWN;
  }

  @Override
  public ReleaseCause maxAgeCause() {
    return ReleaseCause.GOAWAY;
  }

  @Override
  public ReleaseCause neverAfterGoAway() {
    return null; // grpc-netty waits for the stream, as stock does
  }

  @Override
  public boolean countsAborts() {
    return true;
  }

  @Override
  public boolean answersLateFrames() {
    return true; // as stock grpc-netty does; its handler counts no limit on those answers
  }
}
