package dev.abortguard.probe;

import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.File;
import javax.net.ssl.SSLException;

/** TLS for both commands: the JDK's provider, HTTP/2's cipher suites, h2 offered by ALPN. */
final class TlsContexts {
  private TlsContexts() {}

  /**
   * The probe's client context.
   *
   * @param insecure accept any certificate for any name (self-signed test servers)
   */
  static SslContext client(boolean insecure) throws SSLException {
    SslContextBuilder builder = SslContextBuilder.forClient();
    if (insecure) {
      builder.trustManager(InsecureTrustManagerFactory.INSTANCE)
          // The JDK checks the name even with a trust-all manager unless this is off.
          .endpointIdentificationAlgorithm(null);
    }
    return configure(builder).build();
  }

  /** The reference server's context, from PEM files (an X.509 chain and a PKCS#8 key). */
  static SslContext server(File certificateChain, File privateKey) throws SSLException {
    return configure(SslContextBuilder.forServer(certificateChain, privateKey)).build();
  }

  private static SslContextBuilder configure(SslContextBuilder builder) {
    return builder
        .sslProvider(SslProvider.JDK)
        .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
        .applicationProtocolConfig(new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            ApplicationProtocolNames.HTTP_2));
  }
}
