package dev.abortguard.micronaut;

import dev.abortguard.testing.ApiShape;
import org.junit.jupiter.api.Test;

/**
 * abortguard-micronaut's API is the names of its properties: adding the jar is the whole
 * integration, its beans are package-private, and the only type an application may touch otherwise
 * is server-lib's {@code AbortGuard} (to replace the bean).
 */
class ApiShapeTest {
  @Test
  void publicTypesAreTheApi() {
    ApiShape.assertPublicApi(ApiShape.mainClasses(), "dev.abortguard.micronaut.AbortGuardSettings");
  }

  @Test
  void noCircleAcrossPackages() {
    ApiShape.assertNoCircleAcrossPackages(ApiShape.mainClasses());
  }
}
