package dev.abortguard.probe;

import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import javax.net.ssl.SSLException;

/**
 * Turns why a connection or a call failed into one sentence for the operator: what happened at
 * the target, and what to change (port, {@code --tls}, {@code --insecure}, {@code --path}).
 */
final class ConnectionTrouble {
  private ConnectionTrouble() {}

  /**
   * Why no HTTP/2 connection to the target came up.
   *
   * @param firstBytes what the peer sent first, before TLS
   * @param handshakeDone the TLS handshake succeeded (always false without TLS)
   */
  static String explainConnect(Throwable cause, byte[] firstBytes, boolean handshakeDone, CheckOptions options) {
    String target = options.target().toString();
    String timeout = CommandLine.formatMillis(options.timeoutMillis());
    if (find(cause, UnknownHostException.class) != null) {
      return "cannot resolve host '" + options.target().host() + "': check the TARGET's host name";
    }
    if (find(cause, ConnectTimeoutException.class) != null) {
      return "no TCP connection to " + target + " within " + timeout
          + ": the host may be down, or a firewall drops the packets";
    }
    if (find(cause, NoRouteToHostException.class) != null) {
      return "no route to " + target + ": check the TARGET's address and the network";
    }
    if (find(cause, ConnectException.class) != null) {
      return "nothing is listening on " + target + " (connection refused): check the port, and that the"
          + " server or proxy is running";
    }
    if (find(cause, SslHandshakeTimeoutException.class) != null) {
      return "the TLS handshake with " + target + " did not finish within " + timeout
          + ": if the port serves cleartext HTTP/2, drop --tls";
    }
    if (find(cause, NotSslRecordException.class) != null) {
      return target + " did not answer in TLS (" + describeBytes(firstBytes)
          + "): for a cleartext (h2c) port, drop --tls";
    }
    if (find(cause, ProbeConnectionHandler.AlpnRefusedException.class) != null) {
      String protocol = find(cause, ProbeConnectionHandler.AlpnRefusedException.class).protocol();
      return target + " does not offer HTTP/2 over TLS (ALPN chose "
          + (protocol == null ? "nothing" : "'" + protocol + "'") + ", gRPC needs 'h2'): enable h2 on this"
          + " listener (HAProxy: 'alpn h2' on the bind line)";
    }
    if (isUntrustedCertificate(cause)) {
      return "the certificate of " + target + " is not trusted (" + rootMessage(cause) + "): add --insecure to"
          + " skip verification (testing only), or give the server a certificate your JVM trusts";
    }
    boolean closed = find(cause, ProbeConnectionHandler.ConnectionClosedException.class) != null
        || find(cause, ClosedChannelException.class) != null;
    if (options.tls() && !handshakeDone && (closed || find(cause, SSLException.class) != null)) {
      if (looksLikeHttp2(firstBytes)) {
        return target + " answered in cleartext HTTP/2, not TLS: drop --tls";
      }
      if (closed && firstBytes.length == 0) {
        return target + " closed the connection during the TLS handshake: it does not speak TLS on this port"
            + " (for cleartext HTTP/2, drop --tls), or it accepts none of the TLS versions and HTTP/2 cipher"
            + " suites this JVM offers";
      }
    }
    if (find(cause, SSLException.class) != null) {
      return "TLS with " + target + " failed: " + rootMessage(cause)
          + (options.tls() && looksLikeHttp2(firstBytes) ? "; it seems to speak cleartext HTTP/2: drop --tls" : "");
    }
    boolean timedOut = find(cause, ProbeConnectionHandler.SettingsTimeoutException.class) != null;
    if (timedOut || closed || find(cause, Http2Exception.class) != null) {
      if (!options.tls() && startsWith(firstBytes, "HTTP/")) {
        return target + " answered in HTTP/1 (\"" + firstLine(firstBytes) + "\"), not HTTP/2: point the probe at"
            + " a port that speaks HTTP/2 with prior knowledge (a gRPC server, or an HAProxy bind with"
            + " 'proto h2'), or add --tls if it is an HTTPS port";
      }
      if (!options.tls() && firstBytes.length > 1 && (firstBytes[0] == 0x15 || firstBytes[0] == 0x16)
          && firstBytes[1] == 0x03) {
        return target + " answered in TLS: add --tls (and --insecure for a self-signed certificate)";
      }
      if (timedOut && firstBytes.length == 0) {
        return target + " accepted the TCP connection but sent no HTTP/2 SETTINGS within " + timeout
            + ": it is not an HTTP/2 server, or it is stuck"
            + (options.tls() ? "" : "; if it expects TLS, add --tls");
      }
      if (closed && firstBytes.length == 0) {
        return target + " closed the connection without a word: it does not speak "
            + (options.tls() ? "HTTP/2 over TLS" : "cleartext HTTP/2 (h2c)") + " on this port"
            + (options.tls() ? "" : "; if it expects TLS, add --tls");
      }
      if (!options.tls() && isText(firstBytes)) {
        return target + " answered with text, not HTTP/2 (\"" + firstLine(firstBytes) + "\"): probably an HTTP/1"
            + " server; point the probe at a port that speaks HTTP/2 with prior knowledge (a gRPC server, or an"
            + " HAProxy bind with 'proto h2')";
      }
      if (!looksLikeHttp2(firstBytes)) {
        return target + " is not an HTTP/2 server: it began with " + describeBytes(firstBytes);
      }
      return "the HTTP/2 connection to " + target + " failed before it was ready: " + rootMessage(cause);
    }
    return "cannot connect to " + target + ": " + rootMessage(cause);
  }

  /**
   * Why a call's answer cannot be judged, or null if it can: no answer in time, an answer that is
   * not gRPC, or a connection that ended under it.
   */
  static String explainCall(CallRecord call, CheckOptions options) {
    String target = options.target().toString();
    String timeout = CommandLine.formatMillis(options.timeoutMillis());
    String which = "call " + call.number() + " (" + options.path() + ")";
    if (!call.answered()) {
      if (call.headersSeen()) {
        return target + " answered " + which + " with headers (HTTP " + call.httpStatus() + ") but did not end it"
            + " within " + timeout + ": the server accepted the call instead of rejecting it at once; pick a"
            + " --path and --header it rejects straight away (the default path, a method that does not exist,"
            + " is rejected by every gRPC server)";
      }
      return target + " sent nothing for " + which + " within " + timeout + ": the server does not reject this"
          + " call at once; pick a --path and --header it rejects straight away (the default path, a method that"
          + " does not exist, is rejected by every gRPC server)";
    }
    if (call.abandoned() != null) {
      return which + " got no answer: " + call.abandoned();
    }
    if (call.ended() && call.grpcStatus() == null) {
      return target + " ended " + which + " without a grpc-status (HTTP " + call.httpStatus()
          + (call.contentType() == null ? "" : ", content-type " + call.contentType()) + "): it is not a gRPC"
          + " endpoint, or a proxy could not reach its backend";
    }
    return null;
  }

  private static boolean isUntrustedCertificate(Throwable cause) {
    return find(cause, CertPathBuilderException.class) != null
        || find(cause, CertPathValidatorException.class) != null
        || find(cause, CertificateException.class) != null;
  }

  private static boolean looksLikeHttp2(byte[] bytes) {
    // A server's connection preface is a SETTINGS frame: type 0x4 at offset 3, stream 0.
    return bytes.length >= 9 && bytes[3] == 0x4;
  }

  private static boolean isText(byte[] bytes) {
    if (bytes.length == 0) {
      return false;
    }
    for (byte b : bytes) {
      if ((b < 0x20 || b > 0x7e) && b != '\r' && b != '\n' && b != '\t') {
        return false;
      }
    }
    return true;
  }

  private static boolean startsWith(byte[] bytes, String prefix) {
    return new String(bytes, StandardCharsets.ISO_8859_1).startsWith(prefix);
  }

  private static String firstLine(byte[] bytes) {
    String text = new String(bytes, StandardCharsets.ISO_8859_1);
    int end = text.indexOf('\n');
    return (end < 0 ? text : text.substring(0, end)).trim();
  }

  private static String describeBytes(byte[] bytes) {
    if (bytes.length == 0) {
      return "nothing";
    }
    StringBuilder hex = new StringBuilder("bytes");
    for (int i = 0; i < Math.min(bytes.length, 16); i++) {
      hex.append(String.format(" %02x", bytes[i] & 0xff));
    }
    if (looksLikeHttp2(bytes)) {
      hex.append(", an HTTP/2 SETTINGS frame");
    } else if (startsWith(bytes, "HTTP/")) {
      hex.append(", \"").append(firstLine(bytes)).append('"');
    }
    return hex.toString();
  }

  private static String rootMessage(Throwable cause) {
    Throwable root = cause;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage();
    return message == null ? root.getClass().getSimpleName() : message;
  }

  private static <T extends Throwable> T find(Throwable cause, Class<T> type) {
    for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
    }
    return null;
  }
}
