package dev.abortguard.spring.boot;

import dev.abortguard.AbortGuard;
import dev.abortguard.AbortGuardConfig;
import io.grpc.InsecureServerCredentials;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.diagnostics.FailureAnalyzedException;
import org.springframework.grpc.server.GrpcServerFactory;

/**
 * Puts a guarded copy in place of each of Spring gRPC's Netty server factory beans, Spring Boot's
 * own or the application's: the same settings (see {@link FactorySettings}), but credentials
 * wrapped by the guard. Replacing the bean, rather than defining a factory of our own, keeps
 * Spring Boot's gRPC server configuration in charge: its server lifecycle, its {@code
 * spring.grpc.server.*} properties, customizers, SSL bundles, services and interceptors.
 *
 * <p>Factories it cannot guard (other classes, subclasses that may override what a copy would
 * lose) are left as they are, with one ERROR line at startup saying why and what to do.
 */
final class GuardedServerFactories implements BeanPostProcessor {
  private static final Log logger = LogFactory.getLog(GuardedServerFactories.class);
  private static final String NETTY = "org.springframework.grpc.server.NettyGrpcServerFactory";
  private static final String SHADED = "org.springframework.grpc.server.ShadedNettyGrpcServerFactory";
  private static final String IN_PROCESS = "org.springframework.grpc.server.InProcessGrpcServerFactory";

  private final ObjectProvider<AbortGuard> guard;

  GuardedServerFactories(ObjectProvider<AbortGuard> guard) {
    this.guard = guard;
  }

  @Override
  public Object postProcessAfterInitialization(Object bean, String beanName) {
    if (!(bean instanceof GrpcServerFactory) || bean instanceof GuardedGrpcServerFactory) {
      return bean;
    }
    // Class names, not class literals: only one of the two Netty flavours may be on the classpath.
    String type = bean.getClass().getName();
    if (type.equals(IN_PROCESS)) {
      return bean; // no HTTP/2 connections; the call layer comes with Boot's builder customizers
    }
    AbortGuard guard = this.guard.getObject();
    if (!guard.config().enabled()) {
      return bean;
    }
    GrpcServerFactory guarded;
    try {
      if (type.equals(NETTY)) {
        requireTransport(guard, false, beanName);
        guarded = GuardedNettyGrpcServerFactory.copyOf(guard, bean);
      } else if (type.equals(SHADED)) {
        requireTransport(guard, true, beanName);
        guarded = GuardedShadedNettyGrpcServerFactory.copyOf(guard, bean);
      } else {
        logger.error(unguardable(beanName, type));
        return bean;
      }
    } catch (IllegalStateException e) {
      throw new FailureAnalyzedException("abortguard cannot guard the gRPC server factory bean '" + beanName
          + "' (" + type + "): " + e.getMessage(),
          "Use the Spring gRPC version this abortguard release supports, or set "
              + AbortGuardConfig.ENABLED + "=false to run without the guard.", e);
    }
    logger.info("abortguard guards gRPC server factory bean '" + beanName + "' (" + type + ")");
    return guarded;
  }

  /**
   * Fails startup unless the abortguard jar on the classpath is built for the grpc-netty flavour
   * Spring Boot picked; told by the credentials the guard makes, which are grpc-netty's own type.
   */
  private static void requireTransport(AbortGuard guard, boolean shaded, String beanName) {
    boolean guardIsShaded;
    try {
      guardIsShaded = guard.wrap(InsecureServerCredentials.create()).getClass().getName()
          .startsWith("io.grpc.netty.shaded.");
    } catch (LinkageError missingNetty) {
      guardIsShaded = !shaded; // the jar's own flavour is not on the classpath at all
    }
    if (guardIsShaded == shaded) {
      return;
    }
    String why = shaded
        ? "Spring Boot serves gRPC with grpc-netty-shaded (ShadedNettyGrpcServerFactory, bean '" + beanName
            + "'; Boot prefers it whenever io.grpc:grpc-netty-shaded is on the classpath), but the abortguard "
            + "jar on the classpath is the one for plain grpc-netty."
        : "Spring Boot serves gRPC with plain grpc-netty (NettyGrpcServerFactory, bean '" + beanName
            + "'), but the abortguard jar on the classpath is the one for grpc-netty-shaded.";
    String action = shaded
        ? "Exclude dev.abortguard:abortguard from abortguard-spring-boot-starter and depend on "
            + "dev.abortguard:abortguard-grpc-netty-shaded instead, or remove io.grpc:grpc-netty-shaded."
        : "Depend on dev.abortguard:abortguard (which abortguard-spring-boot-starter brings) instead of "
            + "dev.abortguard:abortguard-grpc-netty-shaded.";
    throw new FailureAnalyzedException("abortguard cannot guard the gRPC server: " + why, action);
  }

  /**
   * What to say when the abortguard jar cannot even load: the grpc-netty it is built for is not on
   * the classpath (typically plain abortguard after excluding io.grpc:grpc-netty for Boot's shaded
   * server).
   */
  static FailureAnalyzedException transportMissing(LinkageError e) {
    boolean shadedJar = String.valueOf(e.getMessage()).contains("shaded");
    return new FailureAnalyzedException("abortguard cannot start: the abortguard jar on the classpath is the one "
        + "for " + (shadedJar ? "grpc-netty-shaded" : "plain grpc-netty") + ", which is not on the classpath ("
        + e + ").",
        shadedJar
            ? "Depend on dev.abortguard:abortguard (which abortguard-spring-boot-starter brings) instead of "
                + "dev.abortguard:abortguard-grpc-netty-shaded, or add io.grpc:grpc-netty-shaded."
            : "For Spring Boot's grpc-netty-shaded server, exclude dev.abortguard:abortguard from "
                + "abortguard-spring-boot-starter and depend on dev.abortguard:abortguard-grpc-netty-shaded "
                + "instead; for its grpc-netty server, add io.grpc:grpc-netty.",
        e);
  }

  private static String unguardable(String beanName, String type) {
    return "abortguard does NOT guard the gRPC server of factory bean '" + beanName + "' (" + type + "): the "
        + "starter guards Spring gRPC's NettyGrpcServerFactory and ShadedNettyGrpcServerFactory, whose settings "
        + "it can copy, and the guarded factories below; a subclass or another factory may override what a copy "
        + "would lose. Extend dev.abortguard.spring.boot.GuardedNettyGrpcServerFactory (or "
        + "GuardedShadedNettyGrpcServerFactory; their constructors take the AbortGuard bean), or build the "
        + "server with guard.wrap(credentials) and guard.install(builder). Set " + AbortGuardConfig.ENABLED
        + "=false to run without the guard.";
  }
}
