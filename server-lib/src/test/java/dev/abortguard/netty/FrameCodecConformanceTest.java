package dev.abortguard.netty;

import dev.abortguard.ResetPolicy;
import dev.abortguard.testing.ConformanceCases;
import dev.abortguard.testing.LeakDetectionExtension;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The h2spec cases on frames after the peer's end ({@link ConformanceCases}): an Http2FrameCodec server, guarded and stock. */
@ExtendWith(LeakDetectionExtension.class)
class FrameCodecConformanceTest {
  @ParameterizedTest
  @EnumSource(ResetPolicy.class)
  void guardedAnswersWhatStockAnswers(ResetPolicy policy) {
    try (FrameCodecTestServer stock = FrameCodecTestServer.startStock();
        FrameCodecTestServer guarded = FrameCodecTestServer.start(b -> b.reset(policy))) {
      ConformanceCases.assertNoWorseThanStock(stock::port, guarded::port);
    }
  }
}
