package dev.abortguard.okhttp;

import dev.abortguard.testing.ApiShape;
import org.junit.jupiter.api.Test;

/** This artifact's API is its one entry point; everything else is package-private. */
class ApiShapeTest {
  @Test
  void publicTypesAreTheApi() {
    ApiShape.assertPublicApi(ApiShape.mainClasses(), "dev.abortguard.okhttp.AbortGuardOkHttp");
  }

  @Test
  void noCircleAcrossPackages() {
    ApiShape.assertNoCircleAcrossPackages(ApiShape.mainClasses());
  }
}
