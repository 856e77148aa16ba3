package dev.abortguard.grpc;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.ConformanceCases;
import dev.abortguard.testing.LeakDetectionExtension;
import dev.abortguard.testing.TestServers;
import io.grpc.Server;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The h2spec cases on frames after the peer's end ({@link ConformanceCases}): grpc-netty, guarded and stock. */
@ExtendWith(LeakDetectionExtension.class)
class ConformanceTest {
  @ParameterizedTest
  @EnumSource(ResetPolicy.class)
  void guardedAnswersWhatStockAnswers(ResetPolicy policy) {
    Server stock = TestServers.start(TestServers.withEcho(TestServers.plaintextBuilder()));
    try (GuardedTestServer guarded = GuardedTestServer.start(b -> b.reset(policy))) {
      ConformanceCases.assertNoWorseThanStock(stock::getPort, guarded::port);
    } finally {
      TestServers.stop(stock);
    }
  }
}
