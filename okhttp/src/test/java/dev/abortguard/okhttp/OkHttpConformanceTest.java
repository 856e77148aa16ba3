package dev.abortguard.okhttp;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.ConformanceCases;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The h2spec cases on frames after the peer's end ({@link ConformanceCases}): grpc-okhttp, guarded
 * and stock. The guard keeps such frames from grpc-okhttp only on streams it keeps lingering; these
 * never linger, so they must be answered as stock answers them.
 */
class OkHttpConformanceTest {
  @ParameterizedTest
  @EnumSource(ResetPolicy.class)
  void guardedAnswersWhatStockAnswers(ResetPolicy policy) {
    try (OkHttpTestServer stock = OkHttpTestServer.startStock();
        OkHttpTestServer guarded = OkHttpTestServer.start(b -> b.reset(policy))) {
      ConformanceCases.assertNoWorseThanStock(stock::port, guarded::port);
    }
  }
}
