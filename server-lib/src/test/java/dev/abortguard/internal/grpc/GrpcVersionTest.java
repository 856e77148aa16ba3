package dev.abortguard.internal.grpc;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Which grpc-java versions installing accepts, and what it says about the others. */
class GrpcVersionTest {
  @ParameterizedTest
  @ValueSource(strings = {"1.64.0", "1.64.2", "1.75.0", "1.85.1", "1.90.0-SNAPSHOT", "2.0.0"})
  void supportedVersionsPass(String version) {
    assertDoesNotThrow(() -> GrpcVersion.require(version));
  }

  @ParameterizedTest
  @ValueSource(strings = {"1.63.2", "1.34.0", "0.9.0"})
  void olderVersionsFailNamingTheVersion(String version) {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> GrpcVersion.require(version));
    assertTrue(e.getMessage().contains("grpc-java " + version), e.getMessage());
    assertTrue(e.getMessage().contains("1.64 and newer"), e.getMessage());
  }

  @Test
  void theGrpcJavaOfThisBuildIsSupported() {
    assertDoesNotThrow(GrpcVersion::requireSupported);
  }
}
