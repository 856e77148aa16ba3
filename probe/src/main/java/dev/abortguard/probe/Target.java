package dev.abortguard.probe;

/** Where {@code check} connects: a host name or address and a TCP port. */
final class Target {
  private final String host;
  private final int port;

  Target(String host, int port) {
    this.host = host;
    this.port = port;
  }

  /**
   * Parses {@code host:port}, {@code 127.0.0.1:port} or {@code [::1]:port}.
   *
   * @throws UsageException saying what a target looks like
   */
  static Target parse(String text) throws UsageException {
    String t = text.trim();
    if (t.contains("://")) {
      throw new UsageException("TARGET is host:port without a scheme (got '" + text + "'); add --tls for https");
    }
    int colon = t.lastIndexOf(':');
    if (colon <= 0 || colon == t.length() - 1) {
      throw new UsageException("TARGET must be host:port, e.g. 127.0.0.1:8443 (got '" + text + "')");
    }
    String host = t.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.contains(":")) {
      throw new UsageException("write an IPv6 TARGET in brackets, e.g. [::1]:8443 (got '" + text + "')");
    }
    if (host.isEmpty()) {
      throw new UsageException("TARGET has no host (got '" + text + "')");
    }
    String portText = t.substring(colon + 1);
    int port;
    try {
      port = Integer.parseInt(portText);
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 1 || port > 65535) {
      throw new UsageException("TARGET port '" + portText + "' is not a port number from 1 to 65535");
    }
    return new Target(host, port);
  }

  String host() {
    return host;
  }

  int port() {
    return port;
  }

  @Override
  public String toString() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
