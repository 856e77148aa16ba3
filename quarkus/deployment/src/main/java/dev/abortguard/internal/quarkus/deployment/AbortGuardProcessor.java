package dev.abortguard.internal.quarkus.deployment;

import dev.abortguard.internal.Internal;
import dev.abortguard.internal.quarkus.CallLayerCustomizer;
import dev.abortguard.internal.quarkus.GuardProducer;
import dev.abortguard.internal.quarkus.GuardStartup;
import dev.abortguard.internal.quarkus.GuardingCustomizer;
import dev.abortguard.internal.quarkus.SeparateServerSeam;
import dev.abortguard.internal.quarkus.UnifiedServerInstall;
import io.quarkus.arc.deployment.AdditionalBeanBuildItem;
import io.quarkus.deployment.annotations.BuildStep;
import io.quarkus.deployment.builditem.BytecodeTransformerBuildItem;
import io.quarkus.deployment.builditem.FeatureBuildItem;

/**
 * The extension's build steps: the guard's beans (its producer and the customizer quarkus-grpc
 * calls) and the one rewritten call that keeps the guard on TLS connections of the separate
 * server (see {@link SeparateServerSeam}).
 */
@Internal
public final class AbortGuardProcessor {
  static final String FEATURE = "abortguard";

  @BuildStep
  FeatureBuildItem feature() {
    return new FeatureBuildItem(FEATURE);
  }

  @BuildStep
  AdditionalBeanBuildItem beans() {
    return AdditionalBeanBuildItem.builder()
        .addBeanClasses(GuardProducer.class, GuardingCustomizer.class, CallLayerCustomizer.class, GuardStartup.class,
            UnifiedServerInstall.class)
        .setUnremovable()
        .build();
  }

  @BuildStep
  BytecodeTransformerBuildItem keepGuardUnderTls() {
    // Checked here, at build time: a vertx-grpc without the expected call fails the build, named.
    SslContextCall.requirePresent(Thread.currentThread().getContextClassLoader());
    return new BytecodeTransformerBuildItem(SeparateServerSeam.REWRITTEN_CLASS,
        (className, visitor) -> new SslContextCall.Rewriter(visitor));
  }
}
