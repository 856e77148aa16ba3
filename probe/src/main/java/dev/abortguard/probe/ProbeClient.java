package dev.abortguard.probe;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;

/**
 * One HTTP/2 connection to the target, on its own event loop, making probe calls one after the
 * other. Every wait is bounded by the options' timeout.
 */
final class ProbeClient implements AutoCloseable {
  private static final String USER_AGENT = "abortguard-probe";
  /** An empty gRPC message: not compressed, length 0. */
  private static final byte[] EMPTY_MESSAGE = new byte[5];
  private static final long CLOSE_WAIT_MILLIS = 1000;

  private final CheckOptions options;
  private final EventLoopGroup group;
  private final Channel channel;
  private final ProbeConnectionHandler handler;

  private ProbeClient(CheckOptions options, EventLoopGroup group, Channel channel, ProbeConnectionHandler handler) {
    this.options = options;
    this.group = group;
    this.channel = channel;
    this.handler = handler;
  }

  /**
   * Connects and waits, bounded, until the server's SETTINGS have arrived.
   *
   * @throws ProbeFailure saying why there is no usable HTTP/2 connection
   */
  static ProbeClient connect(CheckOptions options) throws ProbeFailure, InterruptedException {
    SslContext ssl;
    try {
      ssl = options.tls() ? TlsContexts.client(options.insecure()) : null;
    } catch (SSLException e) {
      throw new ProbeFailure("cannot set up TLS in this JVM: " + e.getMessage());
    }
    long timeout = options.timeoutMillis();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(
        1, new DefaultThreadFactory("abortguard-probe", true), NioIoHandler.newFactory());
    InboundReads reads = new InboundReads();
    ProbeConnectionHandler handler = ProbeConnectionHandler.create(reads, ssl != null, timeout);
    String serverName = hostOf(options.authority());
    Bootstrap bootstrap = new Bootstrap()
        .group(group)
        .channel(NioSocketChannel.class)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeout)
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(reads);
            if (ssl != null) {
              SslHandler tls = ssl.newHandler(ch.alloc(), serverName, options.target().port());
              tls.setHandshakeTimeoutMillis(timeout);
              ch.pipeline().addLast(tls);
            }
            ch.pipeline().addLast(handler);
          }
        });
    ChannelFuture connect = bootstrap.connect(options.target().host(), options.target().port());
    connect.addListener(f -> {
      if (!f.isSuccess()) {
        handler.connectFailed(f.cause());
      }
    });
    ProbeClient client = new ProbeClient(options, group, connect.channel(), handler);
    try {
      // Connecting, the TLS handshake and the SETTINGS wait are each bounded by the timeout.
      handler.ready().get(3 * timeout + CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS);
      return client;
    } catch (ExecutionException e) {
      client.close();
      throw new ProbeFailure(ConnectionTrouble.explainConnect(e.getCause(), reads.firstBytes(), handler.handshakeDone(), options));
    } catch (TimeoutException e) {
      client.close();
      throw new ProbeFailure("no HTTP/2 connection to " + options.target() + " within "
          + CommandLine.formatMillis(3 * timeout));
    } catch (InterruptedException e) {
      client.close();
      throw e;
    }
  }

  /**
   * Makes one call and watches it: opens the stream with one message and no END_STREAM, waits
   * (bounded) for the end of the response, then watches the stream for the options' wait, and
   * finally closes the probe's side. Returns the record whatever happened ({@link
   * CallRecord#answered()} says whether anything did).
   */
  CallRecord call(int number) throws InterruptedException, ProbeFailure {
    Http2Headers headers = requestHeaders();
    CallRecord call = onEventLoop(
        () -> handler.startCall(number, headers, Unpooled.wrappedBuffer(EMPTY_MESSAGE.clone())));
    if (call.awaitResponseEnd(options.timeoutMillis()) && call.endNanos() >= 0) {
      call.awaitResetUntil(call.endNanos() + TimeUnit.MILLISECONDS.toNanos(options.waitMillis()));
    }
    onEventLoop(() -> {
      handler.finishCall(call);
      return null;
    });
    return call;
  }

  /** Closes the connection (GOAWAY) and stops the event loop, each wait bounded. */
  @Override
  public void close() {
    channel.close().awaitUninterruptibly(CLOSE_WAIT_MILLIS);
    group.shutdownGracefully(0, CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS)
        .awaitUninterruptibly(2 * CLOSE_WAIT_MILLIS);
  }

  private Http2Headers requestHeaders() {
    Http2Headers headers = new DefaultHttp2Headers()
        .method("POST")
        .scheme(options.tls() ? "https" : "http")
        .path(options.path())
        .authority(options.authority());
    headers.add("content-type", "application/grpc");
    headers.add("te", "trailers");
    boolean userAgentGiven = false;
    for (Map.Entry<String, String> header : options.headers()) {
      headers.add(header.getKey(), header.getValue());
      userAgentGiven |= header.getKey().equals("user-agent");
    }
    if (!userAgentGiven) {
      headers.add("user-agent", USER_AGENT);
    }
    return headers;
  }

  private <T> T onEventLoop(Callable<T> task) throws InterruptedException, ProbeFailure {
    try {
      return channel.eventLoop().submit(task).get(options.timeoutMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new ProbeFailure("internal error: " + e.getCause());
    } catch (TimeoutException e) {
      throw new ProbeFailure("internal error: the probe's event loop did not answer within "
          + CommandLine.formatMillis(options.timeoutMillis()));
    }
  }

  /** The host part of an authority, the TLS server name: {@code [::1]:443} gives {@code ::1}. */
  static String hostOf(String authority) {
    if (authority.startsWith("[")) {
      int end = authority.indexOf(']');
      return end > 0 ? authority.substring(1, end) : authority;
    }
    int colon = authority.lastIndexOf(':');
    return colon > 0 && authority.indexOf(':') == colon ? authority.substring(0, colon) : authority;
  }
}
