package dev.abortguard.okhttp;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.LateFrames;
import dev.abortguard.testing.ReleaseCauseMatrix;
import dev.abortguard.testing.ReleaseCauseMatrix.Scenario;
import io.grpc.InsecureServerCredentials;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The shared release-cause matrix ({@link ReleaseCauseMatrix}) on grpc-okhttp. */
@ExtendWith(LeakDetectionExtension.class)
class OkHttpReleaseCauseMatrixTest implements ReleaseCauseMatrix.Stack {
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
    OkHttpTestServer server = OkHttpTestServer.start(guardOptions, InsecureServerCredentials.create(),
        b -> maxAge ? b.maxConnectionAge(300, TimeUnit.MILLISECONDS).maxConnectionAgeGrace(1, TimeUnit.MINUTES) : b);
    return new ReleaseCauseMatrix.Server(server, server::connect, server.server::shutdown, server::close);
  }

  @Override
  public ReleaseCause shutdownCause() {
    return ReleaseCause.SHUTDOWN;
  }

  @Override
  public ReleaseCause maxAgeCause() {
    return ReleaseCause.SHUTDOWN; // grpc-okhttp's GOAWAYs all read as a shutdown
  }

  @Override
  public ReleaseCause neverAfterGoAway() {
    // grpc-okhttp has forgotten the stream, so with no call open it closes the connection itself.
    return ReleaseCause.CONNECTION_CLOSED;
  }

  @Override
  public boolean countsAborts() {
    return true;
  }

  @Override
  public boolean countsResetWithheld() {
    return false; // see docs/grpc-okhttp.md: the call layer cannot tell which stream a call is
  }
}
