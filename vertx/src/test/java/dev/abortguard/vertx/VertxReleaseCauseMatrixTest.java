package dev.abortguard.vertx;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.LateFrames;
import dev.abortguard.testing.ReleaseCauseMatrix;
import dev.abortguard.testing.ReleaseCauseMatrix.Scenario;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The shared release-cause matrix ({@link ReleaseCauseMatrix}) on a Vert.x gRPC server. */
@ExtendWith(LeakDetectionExtension.class)
class VertxReleaseCauseMatrixTest implements ReleaseCauseMatrix.Stack {
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
    VertxTestServer server = VertxTestServer.start(guardOptions);
    return new ReleaseCauseMatrix.Server(server, server::connect,
        () -> server.server.shutdown(30, TimeUnit.SECONDS), server::close);
  }

  @Override
  public ReleaseCause shutdownCause() {
    return ReleaseCause.SHUTDOWN;
  }

  @Override
  public ReleaseCause maxAgeCause() {
    return null; // a Vert.x HttpServer has no max connection age
  }

  @Override
  public ReleaseCause neverAfterGoAway() {
    return null; // Vert.x waits for the stream, up to the shutdown's timeout
  }

  @Override
  public boolean countsAborts() {
    return true;
  }
}
