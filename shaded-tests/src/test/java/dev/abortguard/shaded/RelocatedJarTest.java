package dev.abortguard.shaded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.AbortGuard;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/** The relocated jar refers to grpc-netty-shaded's classes only, never to plain Netty or grpc-netty. */
class RelocatedJarTest {
  /**
   * A plain reference in a class file's constant pool: an internal name ({@code io/netty/...},
   * {@code Lio/netty/...}) or a dotted name, not preceded by the shaded prefix.
   */
  static final Pattern PLAIN_REFERENCE = Pattern.compile(
      "(?<![/.])io[/.]netty[/.]|(?<![/.])io[/.]grpc[/.]netty[/.](?!shaded[/.])");

  @Test
  void theGuardOnTheClasspathComesFromTheRelocatedJar() throws Exception {
    Path jar = Path.of(AbortGuard.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    assertTrue(jar.getFileName().toString().startsWith("abortguard-grpc-netty-shaded-"), jar.toString());
  }

  @Test
  void noClassRefersToPlainNetty() throws Exception {
    Path jar = Path.of(AbortGuard.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    List<String> plain = new ArrayList<>();
    int classes = 0;
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      Enumeration<? extends ZipEntry> entries = zip.entries();
      while (entries.hasMoreElements()) {
        ZipEntry entry = entries.nextElement();
        if (!entry.getName().endsWith(".class")) {
          continue;
        }
        classes++;
        String text = read(zip, entry);
        Matcher m = PLAIN_REFERENCE.matcher(text);
        while (m.find()) {
          int end = Math.min(text.length(), m.end() + 40);
          plain.add(entry.getName() + ": " + text.substring(m.start(), end).replaceAll("[^\\x20-\\x7e].*", ""));
        }
      }
    }
    assertTrue(classes > 20, "classes in " + jar + ": " + classes);
    assertEquals(List.of(), plain, "plain io.netty / io.grpc.netty references in " + jar);
  }

  @Test
  void thePatternFindsPlainReferences() {
    // The check above can fail: it sees both forms a plain reference takes.
    assertTrue(PLAIN_REFERENCE.matcher("\u0001\u0000\u001eio/netty/channel/Channel").find());
    assertTrue(PLAIN_REFERENCE.matcher("(Lio/grpc/netty/NettyServerBuilder;)V").find());
    assertTrue(PLAIN_REFERENCE.matcher("x io.netty.leakDetection").find());
    assertTrue(!PLAIN_REFERENCE.matcher("Lio/grpc/netty/shaded/io/netty/channel/Channel;").find());
    assertTrue(!PLAIN_REFERENCE.matcher("Lio/grpc/netty/shaded/io/grpc/netty/NettyServerBuilder;").find());
  }

  private static String read(ZipFile zip, ZipEntry entry) throws IOException {
    try (InputStream in = zip.getInputStream(entry)) {
      return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }
}
