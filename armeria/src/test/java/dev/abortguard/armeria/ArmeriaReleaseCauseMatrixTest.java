package dev.abortguard.armeria;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.LateFrames;
import dev.abortguard.testing.ReleaseCauseMatrix;
import dev.abortguard.testing.ReleaseCauseMatrix.Scenario;
import java.time.Duration;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The shared release-cause matrix ({@link ReleaseCauseMatrix}) on Armeria. */
@ExtendWith(LeakDetectionExtension.class)
class ArmeriaReleaseCauseMatrixTest implements ReleaseCauseMatrix.Stack {
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

  @AfterAll
  static void awaitStopped() {
    ArmeriaTestServer.awaitAllStopped();
  }

  @Override
  public ReleaseCauseMatrix.Server start(UnaryOperator<AbortGuard.Builder> guardOptions, boolean maxAge) {
    ArmeriaTestServer server = ArmeriaTestServer.start(guardOptions, (b, guard) -> {
      if (maxAge) {
        b.maxConnectionAge(Duration.ofSeconds(1)); // Armeria's least
      }
    });
    return new ReleaseCauseMatrix.Server(server, server::connect, server::stop, server::close);
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
    return ReleaseCause.CONNECTION_CLOSED; // Armeria closes the connection after its drain
  }

  @Override
  public boolean countsAborts() {
    return true;
  }

  @Override
  public boolean countsResetWithheld() {
    return false; // see docs/armeria.md: neither half of the guard sees the other
  }

  @Override
  public boolean answersLateFrames() {
    return true; // as stock Armeria does; its handler counts no limit on those answers
  }
}
