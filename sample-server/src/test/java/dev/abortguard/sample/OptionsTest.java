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
  void parsesArmeriaAndOkHttpTransports() {
    assertEquals(Options.Transport.ARMERIA, Options.parse("--transport", "armeria").transport());
    assertEquals(Options.Transport.OKHTTP, Options.parse("--transport", "okhttp").transport());
    assertEquals(Options.Transport.OKHTTP, Options.parse("--transport= OkHttp ").transport());
    assertEquals("okhttp", Options.Transport.OKHTTP.flagValue());
  }

  @Test
  void usageNamesEveryTransport() {
    for (Options.Transport transport : Options.Transport.values()) {
      String name = transport.flagValue();
      assertTrue(Options.USAGE.contains("|" + name) || Options.USAGE.contains(name + "|"),
          transport + " missing from the synopsis: " + Options.USAGE);
      assertTrue(Options.USAGE.contains(name + ": "), transport + " not described: " + Options.USAGE);
    }
  }

  @Test
  void parsesStreamAndResetLimits() {
    Options options = Options.parse("--max-concurrent-streams", "100", "--max-rst-frames=200/30");
    assertEquals(100, options.maxConcurrentStreams());
    assertEquals(200, options.maxRstFrames());
    assertEquals(30, options.maxRstSeconds());
    assertEquals(100, Options.parse("--transport", "okhttp", "--max-concurrent-streams", "100").maxConcurrentStreams());
  }

  @Test
  void rejectsResetLimitWithOkHttp() {
    String expected = "--max-rst-frames is not supported with --transport okhttp: grpc-okhttp's server has no"
        + " limit on RST_STREAM frames (no maxRstFramesPerWindow); leave the flag out or use another transport";
    // Either order: the check runs once every flag is read.
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Options.parse("--transport", "okhttp", "--max-rst-frames", "200/30"));
    assertEquals(expected, e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Options.parse("--max-rst-frames", "200/30", "--transport=okhttp"));
    assertEquals(expected, e.getMessage());
    // Options built in code are checked when the server starts.
    Options built = Options.defaults().withTransport(Options.Transport.OKHTTP).withMaxRstFrames(200, 30);
    e = assertThrows(IllegalArgumentException.class, built::checkSupported);
    assertEquals(expected, e.getMessage());
  }

  @Test
  void rejectsUnknownTransport() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Options.parse("--transport", "quic"));
    assertEquals("--transport: 'quic' is none of grpc, frame-codec, armeria, okhttp, vertx", e.getMessage());
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
