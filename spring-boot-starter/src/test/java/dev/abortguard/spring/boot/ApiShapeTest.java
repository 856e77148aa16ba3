package dev.abortguard.spring.boot;

import dev.abortguard.testing.ApiShape;
import org.junit.jupiter.api.Test;

/**
 * The starter's API: its properties, and the two guarded factories an application may extend for a
 * factory of its own. The auto-configuration and the rest of its wiring are package-private.
 */
class ApiShapeTest {
  @Test
  void publicTypesAreTheApi() {
    ApiShape.assertPublicApi(ApiShape.mainClasses(),
        "dev.abortguard.spring.boot.AbortGuardProperties",
        "dev.abortguard.spring.boot.GuardedNettyGrpcServerFactory",
        "dev.abortguard.spring.boot.GuardedShadedNettyGrpcServerFactory");
  }

  @Test
  void noCircleAcrossPackages() {
    ApiShape.assertNoCircleAcrossPackages(ApiShape.mainClasses());
  }
}
