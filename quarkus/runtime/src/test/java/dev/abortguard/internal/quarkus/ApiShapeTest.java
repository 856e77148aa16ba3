package dev.abortguard.internal.quarkus;

import dev.abortguard.testing.ApiShape;
import org.junit.jupiter.api.Test;

/**
 * abortguard-quarkus has no API of its own: an application adds the dependency and sets {@code
 * abortguard.*}; it may inject the {@code dev.abortguard.AbortGuard} bean. Everything here is
 * {@code @Internal}.
 */
class ApiShapeTest {
  @Test
  void noPublicTypesOutsideInternal() {
    ApiShape.assertPublicApi(ApiShape.mainClasses());
  }

  @Test
  void everyPublicTypeIsMarkedInternal() {
    ApiShape.assertInternalMarked(ApiShape.mainClasses());
  }

  @Test
  void noCircleAcrossPackages() {
    ApiShape.assertNoCircleAcrossPackages(ApiShape.mainClasses());
  }
}
