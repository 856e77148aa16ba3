package dev.abortguard.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.testing.RawHttp2Client;
import dev.abortguard.testing.RawHttp2Client.Frame;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.grpc.server.NettyGrpcServerFactory;
import org.springframework.grpc.server.ServerBuilderCustomizer;
import org.springframework.grpc.server.lifecycle.GrpcServerLifecycle;

/**
 * A gRPC server factory bean of the application's own (Boot's whole Netty configuration backs off):
 * a plain {@link NettyGrpcServerFactory} is guarded all the same, both parts; a subclass, which a
 * copy could betray, is left alone and startup says so.
 */
@ExtendWith(OutputCaptureExtension.class)
class UserDefinedFactoryTest {
  @Test
  void ownNettyGrpcServerFactoryIsGuarded() {
    try (BootApp app = BootApp.start(WebApplicationType.NONE, List.of(OwnFactory.class),
            "--abortguard.reset=immediate");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      assertInstanceOf(GuardedNettyGrpcServerFactory.class, app.grpcServerFactory());
      Frame trailers = Wire.abortedBidi(client);
      Frame reset = client.awaitFrame(f -> Wire.isReset(f, trailers.streamId()), Wire.WAIT);
      assertEquals(RawHttp2Client.NO_ERROR, reset.errorCode(), client.describeFrames());
      // The call layer came with the guarded factory, though this factory has no Boot customizers.
      Meters.awaitCount(app.meterRegistry(), 1, "grpc.server.aborts");
    }
  }

  @Test
  void ownSubclassIsLeftAloneAndStartupSaysWhy(CapturedOutput output) {
    try (BootApp app = BootApp.start(WebApplicationType.NONE, List.of(OwnSubclass.class),
            "--abortguard.reset=immediate");
        RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", app.grpcPort())) {
      assertEquals(MyFactory.class, app.grpcServerFactory().getClass());
      assertTrue(output.getAll().contains("abortguard does NOT guard the gRPC server of factory bean 'myFactory' ("
          + MyFactory.class.getName() + ")"), output.getAll());
      Wire.abortedBidi(client);
      client.assertNoFrame(f -> f.type() == RawHttp2Client.RST_STREAM, Duration.ofMillis(300));
    }
  }

  /** What DESIGN.md tried: the application's own factory and lifecycle. */
  @Configuration(proxyBeanMethods = false)
  static class OwnFactory {
    @Bean
    NettyGrpcServerFactory myFactory() {
      NettyGrpcServerFactory factory = new NettyGrpcServerFactory("127.0.0.1:0", List.of(), null, null, null);
      factory.addService(ServerInterceptors.intercept(new DemoService(), new AuthInterceptor()));
      return factory;
    }

    @Bean
    GrpcServerLifecycle myLifecycle(NettyGrpcServerFactory myFactory, ApplicationEventPublisher events) {
      return new GrpcServerLifecycle(myFactory, Duration.ofSeconds(1), events);
    }
  }

  /** A factory subclass; abortguard cannot know what it overrides. */
  static class MyFactory extends NettyGrpcServerFactory {
    MyFactory() {
      super("127.0.0.1:0", List.<ServerBuilderCustomizer<NettyServerBuilder>>of(),
          null, null, null);
      addService(ServerInterceptors.intercept(new DemoService(), new AuthInterceptor()));
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class OwnSubclass {
    @Bean
    MyFactory myFactory() {
      return new MyFactory();
    }

    @Bean
    GrpcServerLifecycle myLifecycle(MyFactory myFactory, ApplicationEventPublisher events) {
      return new GrpcServerLifecycle(myFactory, Duration.ofSeconds(1), events);
    }
  }
}
