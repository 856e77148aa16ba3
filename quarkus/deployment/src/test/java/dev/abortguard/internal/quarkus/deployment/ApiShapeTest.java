package dev.abortguard.internal.quarkus.deployment;

import dev.abortguard.testing.ApiShape;
import org.junit.jupiter.api.Test;

/** abortguard-quarkus-deployment holds Quarkus build steps only: no public type outside internal. */
class ApiShapeTest {
  @Test
  void noPublicTypesOutsideInternal() {
    ApiShape.assertPublicApi(ApiShape.mainClasses());
  }

  @Test
  void everyPublicTypeIsMarkedInternal() {
    ApiShape.assertInternalMarked(ApiShape.mainClasses());
  }
}
