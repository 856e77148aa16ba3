package dev.abortguard.armeria;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.ConformanceCases;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The h2spec cases on frames after the peer's end ({@link ConformanceCases}): Armeria, guarded and stock. */
class ArmeriaConformanceTest {
  @ParameterizedTest
  @EnumSource(ResetPolicy.class)
  void guardedAnswersWhatStockAnswers(ResetPolicy policy) {
    try (ArmeriaTestServer stock = ArmeriaTestServer.startStock();
        ArmeriaTestServer guarded = ArmeriaTestServer.start(b -> b.reset(policy))) {
      ConformanceCases.assertNoWorseThanStock(stock::port, guarded::port);
    }
  }
}
