package dev.abortguard.sample;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class OptionsTest {
  @Test
  void defaultsBindLoopback() {
    Options options = Options.parse();
    assertEquals("127.0.0.1", options.host());
    assertEquals(50051, options.port());
    assertEquals(Options.NO_METRICS, options.metricsPort());
  }

  @Test
  void parsesEveryFlag() {
    Options options = Options.parse("--port", "0", "--metrics-port", "9464", "--host", "localhost");
    assertEquals(0, options.port());
    assertEquals(9464, options.metricsPort());
    assertEquals("localhost", options.host());
  }

  @Test
  void transportDefaultsToGrpc() {
    assertEquals(Options.Transport.GRPC, Options.parse().transport());
    assertEquals(Options.Transport.GRPC, Options.parse("--transport", "grpc").transport());
  }

  @Test
  void parsesFrameCodecTransport() {
    assertEquals(Options.Transport.FRAME_CODEC, Options.parse("--transport", "frame-codec").transport());
    assertEquals(Options.Transport.FRAME_CODEC, Options.parse("--transport=Frame-Codec").transport());
    assertEquals("frame-codec", Options.Transport.FRAME_CODEC.flagValue());
  }

  @Test
  void rejectsUnknownTransport() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Options.parse("--transport", "quic"));
    assertEquals("--transport: 'quic' is none of grpc, frame-codec, armeria", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Options.parse("--transport", "grpc", "--transport=grpc"));
  }

  @Test
  void parsesFlagEqualsValue() {
    Options options = Options.parse("--port=6000", "--metrics-port=0");
    assertEquals(6000, options.port());
    assertEquals(0, options.metricsPort());
  }

  @Test
  void rejectsUnknownFlag() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Options.parse("--prot", "1"));
    assertTrue(e.getMessage().contains("'--prot'"), e.getMessage());
  }

  @Test
  void pointsSystemPropertiesBeforeJar() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Options.parse("-Dabortguard.reset=never"));
    assertTrue(e.getMessage().contains("before -jar"), e.getMessage());
  }

  @Test
  void rejectsBadNumbers() {
    for (String bad : new String[] {"abc", "-1", "65536", "", "1.5"}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Options.parse("--port", bad), bad);
      assertTrue(e.getMessage().startsWith("--port: '" + bad + "'"), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> Options.parse("--metrics-port", "http"));
  }

  @Test
  void rejectsMissingValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Options.parse("--port"));
    assertEquals("--port needs a value", e.getMessage());
  }

  @Test
  void rejectsRepeatedFlag() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Options.parse("--port", "1", "--port=2"));
    assertEquals("--port given more than once", e.getMessage());
  }

  @Test
  void rejectsPositionalArgument() {
    assertThrows(IllegalArgumentException.class, () -> Options.parse("50051"));
  }

  @Test
  void rejectsEmptyHost() {
    assertThrows(IllegalArgumentException.class, () -> Options.parse("--host", " "));
  }
}
