package dev.abortguard.spring.boot.mismatch;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.spring.boot.BootApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * io.grpc:grpc-netty excluded everywhere for Boot's grpc-netty-shaded server, but the plain
 * abortguard jar kept (run by the {@code no-grpc-netty} surefire execution): the jar cannot load,
 * and startup says which jar to use instead of a bare NoClassDefFoundError.
 */
@ExtendWith(OutputCaptureExtension.class)
class PlainJarWithoutGrpcNettyTest {
  @Test
  void plainJarWithoutGrpcNettyFailsStartupSayingWhichJarToUse(CapturedOutput output) {
    assertThrows(ClassNotFoundException.class, () -> Class.forName("io.grpc.netty.NettyServerBuilder"));
    assertThrows(Throwable.class, () -> BootApp.start().close());
    String report = output.getAll();
    assertTrue(report.contains("APPLICATION FAILED TO START"), report);
    assertTrue(report.contains("the abortguard jar on the classpath is the one for plain grpc-netty, which is "
        + "not on the classpath"), report);
    assertTrue(report.contains("depend on dev.abortguard:abortguard-grpc-netty-shaded instead"), report);
  }
}
