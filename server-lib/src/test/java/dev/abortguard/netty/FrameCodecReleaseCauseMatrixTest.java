package dev.abortguard.netty;

import dev.abortguard.AbortGuard;
import dev.abortguard.ResetPolicy;
import dev.abortguard.internal.core.ReleaseCause;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.LateFrames;
import dev.abortguard.testing.ReleaseCauseMatrix;
import dev.abortguard.testing.ReleaseCauseMatrix.Scenario;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The shared release-cause matrix ({@link ReleaseCauseMatrix}) on an {@code Http2FrameCodec} server. */
@ExtendWith(LeakDetectionExtension.class)
class FrameCodecReleaseCauseMatrixTest implements ReleaseCauseMatrix.Stack {
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
    FrameCodecTestServer server = FrameCodecTestServer.start(guardOptions);
    return new ReleaseCauseMatrix.Server(server, server::connect, server::closeConnections, server::close);
  }

  @Override
  public ReleaseCause shutdownCause() {
    return ReleaseCause.GOAWAY; // a frame-codec server's GOAWAY(NO_ERROR) tells no shutdown apart
  }

  @Override
  public ReleaseCause maxAgeCause() {
    return null; // Http2FrameCodec has no max connection age
  }

  @Override
  public ReleaseCause neverAfterGoAway() {
    return null; // the codec waits for active streams (up to its graceful shutdown timeout)
  }

  @Override
  public boolean countsAborts() {
    return false; // no call layer: not grpc-java
  }
}
