package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.sample.e2e.E2eTools;
import dev.abortguard.sample.e2e.HaproxyProcess;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code check --html} through Debian's HAProxy 2.6 in front of a C-core-style backend ({@code
 * serve --behaviour ccore}), all real processes on 127.0.0.1, and the page rendered by headless
 * Chromium: its DOM holds the verdict, the terminal's advice and a RST_STREAM(CANCEL) row per call,
 * and its screenshot is a real picture of it.
 *
 * <p>{@code -Dprobe.report.screenshot=../docs/probe-report.png} also copies the screenshot there:
 * that is how the one in docs/ was made.
 */
class HtmlReportIT {
  private static final int CALLS = 5;
  private static final Pattern FRAME_ROW = Pattern.compile("<tr class=\"frame ([a-z ]+)\">(.*?)</tr>", Pattern.DOTALL);
  private static final Pattern TAG = Pattern.compile("<[^>]*>");

  @Test
  void reportThroughHaproxyShowsTheProxysCancel(@TempDir Path dir) throws Exception {
    E2eTools.requireHaproxy();
    HeadlessChromium chromium = HeadlessChromium.require();
    Path page = dir.resolve("report.html");
    CheckRun run;
    String proxy;
    try (ServeProcess ccore = ServeProcess.start(dir, "--behaviour", "ccore");
        HaproxyProcess haproxy = HaproxyProcess.start(ccore.port, dir)) {
      run = CheckRun.check(dir, haproxy.target(), "--calls", String.valueOf(CALLS), "--json", "--html",
          page.toString());
      proxy = haproxy.describe();
      assertFalse(ccore.stderr().contains("LEAK:"), ccore::stderr);
    }
    String context = run + "\n" + proxy;
    assertEquals(1, run.exitCode, context);
    run.assertExit(1);
    assertEquals("loses_statuses", run.json().get("verdict"), context);
    assertTrue(run.stderr.contains("HTML report written to " + page.toAbsolutePath()), context);

    String dom = chromium.dumpDom(page);
    String text = text(dom);
    assertTrue(text.contains("verdict: LOSES STATUSES for C-core clients (exit 1)"), dom);
    // The terminal's advice, word for word (the JSON's message is the table's).
    assertTrue(text.contains((String) run.json().get("message")), dom);
    List<String> cancelRows = rows(dom).stream()
        .filter(row -> row.startsWith("received lost|") && row.contains("RST_STREAM(CANCEL)"))
        .collect(Collectors.toList());
    assertEquals(CALLS, cancelRows.size(), dom);
    for (String row : cancelRows) {
      assertTrue(row.matches("received lost\\|[0-9]+\\.[0-9]{3} \u2190 received RST_STREAM\\(CANCEL\\)  [0-9.]+ ms"
          + " after the status.*: a C-core client may report CANCELLED instead of the status #[0-9]+\\s*"), row);
    }
    // Each call's status row: the trailers-only HEADERS with the backend's status.
    assertEquals(CALLS, rows(dom).stream()
        .filter(row -> row.contains("HEADERS END_STREAM :status 200, grpc-status 7 (PERMISSION_DENIED)"))
        .count(), dom);

    Path png = dir.resolve("report.png");
    chromium.screenshot(page, png);
    BufferedImage image = ImageIO.read(png.toFile());
    assertEquals(1200, image.getWidth());
    assertEquals(1600, image.getHeight());
    Set<Integer> colours = new HashSet<>();
    int banner = 0; // the verdict's light red background, #ffebe9
    for (int y = 0; y < image.getHeight(); y += 2) {
      for (int x = 0; x < image.getWidth(); x += 2) {
        int rgb = image.getRGB(x, y) & 0xffffff;
        colours.add(rgb);
        banner += rgb == 0xffebe9 ? 1 : 0;
      }
    }
    assertTrue(colours.size() > 50, "a blank or flat screenshot: " + colours.size() + " colours");
    assertTrue(banner > 5_000, "no red verdict banner in the screenshot: " + banner + " pixels of #ffebe9");
    String copyTo = System.getProperty("probe.report.screenshot");
    if (copyTo != null && !copyTo.isEmpty()) {
      Files.copy(png, Path.of(copyTo), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** The page's text, as a reader sees it: tags dropped, the five references decoded. */
  private static String text(String dom) {
    return decode(TAG.matcher(dom).replaceAll(""));
  }

  /** Each frame row as {@code class|cell cell ...}, cells' text joined by single spaces. */
  private static List<String> rows(String dom) {
    Matcher m = FRAME_ROW.matcher(dom);
    List<String> rows = new ArrayList<>();
    while (m.find()) {
      String cells = decode(m.group(2).replaceAll("</td>", " ").replaceAll("<[^>]*>", ""));
      rows.add(m.group(1) + "|" + cells);
    }
    return rows;
  }

  private static String decode(String html) {
    return html.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'")
        .replace("&amp;", "&");
  }
}
