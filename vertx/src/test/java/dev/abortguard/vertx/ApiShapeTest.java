package dev.abortguard.vertx;

import dev.abortguard.testing.ApiShape;
import org.junit.jupiter.api.Test;

/** This artifact's API is its one entry point; everything else is internal and marked so. */
class ApiShapeTest {
  @Test
  void publicTypesAreTheApi() {
    ApiShape.assertPublicApi(ApiShape.mainClasses(), "dev.abortguard.vertx.AbortGuardVertx");
  }

  @Test
  void internalTypesAreMarked() {
    ApiShape.assertInternalMarked(ApiShape.mainClasses());
  }

  @Test
  void noCircleAcrossPackages() {
    ApiShape.assertNoCircleAcrossPackages(ApiShape.mainClasses());
  }
}
