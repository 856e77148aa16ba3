package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPathConstants;
import javax.xml.xpath.XPathFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * The HTML page from calls recorded by hand. The page is also well-formed XML, so these tests read
 * it as a tree: text from the wire that escaped its element would break the parse or the paths.
 */
class ReportHtmlTest {
  private static final long MS = 1_000_000;
  private static final Instant WHEN = Instant.parse("2026-12-07T23:30:00.123Z");

  @Test
  void verdictAndAdviceAreTheTerminal() throws Exception {
    CheckReport report = report(List.of("127.0.0.1:1"), cancelled(1), cancelled(2));
    String html = ReportHtml.render(report, WHEN);
    Document page = parse(html);
    assertEquals("verdict: LOSES STATUSES for C-core clients (exit 1)", text(page, "//section[@id='verdict']/h2"));
    assertEquals(ReportTable.verdictLine(report.verdict()), text(page, "//section[@id='verdict']/h2"));
    assertEquals(report.message(), text(page, "//section[@id='verdict']/p[@class='advice']"));
    assertEquals("verdict loses", attribute(page, "//section[@id='verdict']", "class"));
    String table = ReportTable.render(report);
    assertTrue(table.contains(ReportTable.verdictLine(report.verdict())), table);
    assertTrue(text(page, "//header/p[1]").contains("checked at 2026-12-07T23:30:00Z"), html);
    assertEquals("2", text(page, "//table[@class='summary']/tr[td[1]='status followed by another RST_STREAM"
        + " (lost for C-core clients)']/td[2]"));

    report = report(List.of("127.0.0.1:1"), trailersOnly(1));
    page = parse(ReportHtml.render(report, WHEN));
    assertEquals("verdict: KEEPS STATUSES (exit 0)", text(page, "//section[@id='verdict']/h2"));
    assertEquals("verdict keeps", attribute(page, "//section[@id='verdict']", "class"));
  }

  @Test
  void theProxysCancelIsARowWithItsTiming() throws Exception {
    Document page = parse(ReportHtml.render(report(List.of("127.0.0.1:1"), cancelled(1)), WHEN));
    NodeList rows = nodes(page, "//section[@id='call-1']//tbody/tr");
    List<String> types = new ArrayList<>();
    for (int i = 0; i < rows.getLength(); i++) {
      types.add(cell(rows.item(i), "type"));
    }
    assertEquals(List.of("HEADERS", "DATA", "HEADERS", "RST_STREAM(CANCEL)"), types);
    Node status = rows.item(2);
    assertEquals("frame received", attribute(status, "class"));
    assertEquals("1.000", cell(status, "t"));
    assertEquals("END_STREAM", cell(status, "flags"));
    assertEquals(":status 200, grpc-status 7 (PERMISSION_DENIED), grpc-message \"denied\"", cell(status, "detail"));
    Node reset = rows.item(3);
    assertEquals("frame received lost", attribute(reset, "class"));
    assertEquals("1.000", cell(reset, "t"));
    assertEquals("#7", cell(reset, "read"));
    assertEquals("0.000 ms after the status, in the same read: a C-core client may report CANCELLED instead of"
        + " the status", cell(reset, "detail"));
    assertEquals("\u2190 received", cell(reset, "dir"));
    assertEquals("\u2192 sent", cell(rows.item(0), "dir"));
    assertEquals("POST /abortguard.probe.v1.Probe/NoSuchMethod", cell(rows.item(0), "detail"));
    assertEquals("5 bytes", cell(rows.item(1), "detail"));
    assertEquals("call 1 \u00b7 stream 1 \u00b7 PERMISSION_DENIED (7) \u00b7 trailers-only in 1.000 ms \u00b7 then"
        + " RST_STREAM(CANCEL)", text(page, "//section[@id='call-1']/h3"));
  }

  @Test
  void textFromTheWireAndTheCommandLineIsEscaped() throws Exception {
    String evil = "</td><script>alert(\"x\")</script> & 'q' \u0001 \ud83d";
    CallRecord call = new CallRecord(1, 1, 0);
    Http2Headers headers = new DefaultHttp2Headers().status("200");
    headers.add("grpc-status", "3").add("grpc-message", evil);
    call.headersReceived(headers, true, MS, 1);
    CheckReport report = report(List.of("127.0.0.1:1", "--path", "/a.B/<i>x", "--authority", "h\"<b>:1",
        "--header", "authorization=Bearer s3cr3t"), call);
    String html = ReportHtml.render(report, WHEN);
    assertFalse(html.contains("<script"), html);
    assertFalse(html.contains("<i>") || html.contains("<b>"), html);
    assertTrue(html.contains("&lt;/td&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"), html);
    Document page = parse(html);
    assertEquals(":status 200, grpc-status 3 (INVALID_ARGUMENT), grpc-message \""
        + "</td><script>alert(\"x\")</script> & 'q' \ufffd \ufffd\"",
        cell(nodes(page, "//section[@id='call-1']//tbody/tr").item(0), "detail"));
    assertTrue(text(page, "//h1").endsWith("path /a.B/<i>x"), html);
    assertTrue(text(page, "//header/p[1]").contains("authority h\"<b>:1"), html);
    // Header names are shown, values are not: they may be credentials.
    assertTrue(text(page, "//header/p[2]").contains("authorization"), html);
    assertFalse(html.contains("s3cr3t"), html);
  }

  @Test
  void anErrorReportHasTheMessageAndNoCalls() throws Exception {
    CheckReport report = new CheckReport(CheckOptions.parse(List.of("127.0.0.1:1")), List.of(),
        "127.0.0.1:1 is not HTTP/2 (it sent \"HTTP/1.1 400 <Bad>\"): check the port");
    Document page = parse(ReportHtml.render(report, WHEN));
    assertEquals("verdict: ERROR (exit 2)", text(page, "//section[@id='verdict']/h2"));
    assertEquals("verdict error", attribute(page, "//section[@id='verdict']", "class"));
    assertEquals(report.message(), text(page, "//section[@id='verdict']/p"));
    assertEquals(0, nodes(page, "//section[@id='calls']").getLength());
  }

  @Test
  void thePageNeedsNothingElse() throws Exception {
    String html = ReportHtml.render(report(List.of("127.0.0.1:1"), cancelled(1), trailersOnly(2)), WHEN);
    for (String external : List.of("<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import",
        "http://", "https://")) {
      assertFalse(html.contains(external), external);
    }
    assertTrue(html.startsWith("<!DOCTYPE html>\n<html lang=\"en\">"), html);
    assertTrue(html.contains("<meta charset=\"utf-8\"/>"), html);
    assertTrue(html.contains("<style>"), html);
  }

  private static CallRecord trailersOnly(int number) {
    CallRecord call = new CallRecord(number, 2 * number - 1, 0);
    call.sent("HEADERS", 0, false, null);
    call.sentData(5, 0, false);
    Http2Headers headers = new DefaultHttp2Headers().status("200");
    headers.add("content-type", "application/grpc").add("grpc-status", "7").add("grpc-message", "denied");
    call.headersReceived(headers, true, MS, 7);
    return call;
  }

  /** HAProxy 2.6 in front of a C-core backend: the status, then CANCEL in the same read. */
  private static CallRecord cancelled(int number) {
    CallRecord call = trailersOnly(number);
    call.resetReceived(8, MS, 7);
    return call;
  }

  private static CheckReport report(List<String> args, CallRecord... calls) throws UsageException {
    return new CheckReport(CheckOptions.parse(args), List.of(calls), null);
  }

  private static Document parse(String html) throws Exception {
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setExpandEntityReferences(false);
    return factory.newDocumentBuilder().parse(new ByteArrayInputStream(html.getBytes(StandardCharsets.UTF_8)));
  }

  private static NodeList nodes(Object context, String path) throws Exception {
    return (NodeList) XPathFactory.newInstance().newXPath().evaluate(path, context, XPathConstants.NODESET);
  }

  private static String text(Object context, String path) throws Exception {
    NodeList found = nodes(context, path);
    assertEquals(1, found.getLength(), () -> path + " matched " + found.getLength() + " nodes");
    return found.item(0).getTextContent();
  }

  private static String attribute(Object context, String path, String name) throws Exception {
    return nodes(context, path).item(0).getAttributes().getNamedItem(name).getNodeValue();
  }

  private static String attribute(Node node, String name) {
    return node.getAttributes().getNamedItem(name).getNodeValue();
  }

  private static String cell(Node row, String cssClass) throws Exception {
    return text(row, "td[@class='" + cssClass + "']");
  }
}
