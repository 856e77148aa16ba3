package dev.abortguard.micronaut;

import dev.abortguard.testing.ApiShape;
import org.junit.jupiter.api.Test;

/**
 * abortguard-micronaut has no API of its own: adding the jar is the whole integration, its beans are
 * package-private, and the only type an application touches is server-lib's {@code AbortGuard}.
 */
class ApiShapeTest {
  @Test
  void noPublicTypes() {
    ApiShape.assertPublicApi(ApiShape.mainClasses());
  }

  @Test
  void noCircleAcrossPackages() {
    ApiShape.assertNoCircleAcrossPackages(ApiShape.mainClasses());
  }
}
