package dev.abortguard.vertx;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.ConformanceCases;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The h2spec cases on frames after the peer's end ({@link ConformanceCases}): Vert.x, guarded and stock. */
class VertxConformanceTest {
  @ParameterizedTest
  @EnumSource(ResetPolicy.class)
  void guardedAnswersWhatStockAnswers(ResetPolicy policy) {
    try (VertxTestServer stock = VertxTestServer.startStock();
        VertxTestServer guarded = VertxTestServer.start(b -> b.reset(policy))) {
      ConformanceCases.assertNoWorseThanStock(stock::port, guarded::port);
    }
  }
}
