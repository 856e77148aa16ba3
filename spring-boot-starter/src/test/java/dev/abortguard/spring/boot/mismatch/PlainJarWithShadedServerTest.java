package dev.abortguard.spring.boot.mismatch;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.spring.boot.BootApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.diagnostics.FailureAnalyzedException;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * io.grpc:grpc-netty-shaded arrives on the classpath (often transitively), so Spring Boot serves
 * gRPC with its shaded factory, while the starter still brings the plain abortguard jar (run by the
 * {@code transport-mismatch} surefire execution): startup fails, saying which jar to use.
 */
@ExtendWith(OutputCaptureExtension.class)
class PlainJarWithShadedServerTest {
  @Test
  void plainJarWithBootsShadedServerFailsStartupSayingWhichJarToUse(CapturedOutput output) {
    Throwable failure = assertThrows(Throwable.class, () -> BootApp.start().close());
    FailureAnalyzedException analyzed = null;
    for (Throwable t = failure; t != null && analyzed == null; t = t.getCause()) {
      if (t instanceof FailureAnalyzedException e) {
        analyzed = e;
      }
    }
    assertTrue(analyzed != null, "no FailureAnalyzedException in " + failure);
    String report = output.getAll();
    assertTrue(report.contains("APPLICATION FAILED TO START"), report);
    assertTrue(report.contains("Spring Boot serves gRPC with grpc-netty-shaded"), report);
    assertTrue(report.contains("the abortguard jar on the classpath is the one for plain grpc-netty"), report);
    assertTrue(report.contains("depend on dev.abortguard:abortguard-grpc-netty-shaded instead"), report);
  }
}
