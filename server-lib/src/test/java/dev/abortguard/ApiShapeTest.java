package dev.abortguard;

import dev.abortguard.testing.ApiShape;
import org.junit.jupiter.api.Test;

/** server-lib's API is what users touch; everything else is fenced under {@code dev.abortguard.internal}. */
class ApiShapeTest {
  @Test
  void publicTypesOutsideInternalAreTheApi() {
    ApiShape.assertPublicApi(ApiShape.mainClasses(),
        "dev.abortguard.AbortGuard", "dev.abortguard.AbortGuardConfig", "dev.abortguard.ResetPolicy");
  }

  @Test
  void everythingPublicUnderInternalIsMarked() {
    ApiShape.assertInternalMarked(ApiShape.mainClasses());
  }

  @Test
  void noCircleAcrossPackages() {
    ApiShape.assertNoCircleAcrossPackages(ApiShape.mainClasses());
  }
}
