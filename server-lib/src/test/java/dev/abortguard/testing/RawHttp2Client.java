package dev.abortguard.testing;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * A deliberately dumb HTTP/2 client over a blocking socket that records every frame it receives, so
 * wire-level tests can assert exactly which frames crossed the socket, in which order and in which
 * read.
 *
 * <p>It does nothing a test did not ask for, except acknowledging the server's SETTINGS and PING
 * frames. It never sends RST_STREAM or END_STREAM on its own. It advertises the largest possible
 * receive windows (2<sup>31</sup>-1 for the connection and every stream) so the server is never
 * blocked by flow control sending to it, and it never sends WINDOW_UPDATE after the preface.
 * Sending DATA respects the server's windows and SETTINGS_MAX_FRAME_SIZE.
 *
 * <p>Every send method writes and flushes once per call (an oversized DATA payload waiting for
 * window is the only exception) and throws {@link UncheckedIOException} if the socket fails. All
 * waits are bounded. {@link #describeFrames()} prints the frames received and sent, one per line,
 * for assertion messages.
 *
 * <pre>{@code
 * try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", port)) {
 *   int id = client.startCall(path, Map.of("x-test-abort", "PERMISSION_DENIED"), false);
 *   Frame trailers = client.awaitFrame(id, RawHttp2Client.HEADERS, Duration.ofSeconds(5));
 *   assertEquals("7", trailers.header("grpc-status"), client.describeFrames());
 * }
 * }</pre>
 */
public final class RawHttp2Client implements AutoCloseable {
  private static final java.util.concurrent.atomic.AtomicLong syncPings = new java.util.concurrent.atomic.AtomicLong(1L << 40);

  /** Frame type DATA. */
  public static final int DATA = 0x0;

  /** Frame type HEADERS. */
  public static final int HEADERS = 0x1;

  /** Frame type PRIORITY. */
  public static final int PRIORITY = 0x2;

  /** Frame type RST_STREAM. */
  public static final int RST_STREAM = 0x3;

  /** Frame type SETTINGS. */
  public static final int SETTINGS = 0x4;

  /** Frame type PUSH_PROMISE. */
  public static final int PUSH_PROMISE = 0x5;

  /** Frame type PING. */
  public static final int PING = 0x6;

  /** Frame type GOAWAY. */
  public static final int GOAWAY = 0x7;

  /** Frame type WINDOW_UPDATE. */
  public static final int WINDOW_UPDATE = 0x8;

  /** Frame type CONTINUATION. */
  public static final int CONTINUATION = 0x9;

  /** Flag END_STREAM (DATA, HEADERS). */
  public static final int FLAG_END_STREAM = 0x1;

  /** Flag ACK (SETTINGS, PING). */
  public static final int FLAG_ACK = 0x1;

  /** Flag END_HEADERS (HEADERS, PUSH_PROMISE, CONTINUATION). */
  public static final int FLAG_END_HEADERS = 0x4;

  /** Flag PADDED (DATA, HEADERS, PUSH_PROMISE). */
  public static final int FLAG_PADDED = 0x8;

  /** Flag PRIORITY (HEADERS). */
  public static final int FLAG_PRIORITY = 0x20;

  /** Error code NO_ERROR. */
  public static final long NO_ERROR = 0x0;

  /** Error code PROTOCOL_ERROR. */
  public static final long PROTOCOL_ERROR = 0x1;

  /** Error code INTERNAL_ERROR. */
  public static final long INTERNAL_ERROR = 0x2;

  /** Error code FLOW_CONTROL_ERROR. */
  public static final long FLOW_CONTROL_ERROR = 0x3;

  /** Error code STREAM_CLOSED. */
  public static final long STREAM_CLOSED = 0x5;

  /** Error code REFUSED_STREAM. */
  public static final long REFUSED_STREAM = 0x7;

  /** Error code CANCEL. */
  public static final long CANCEL = 0x8;

  private static final String[] TYPE_NAMES = {
    "DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS",
    "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"
  };
  private static final String[] ERROR_NAMES = {
    "NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
    "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
    "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"
  };
  private static final String[] SETTING_NAMES = {
    "0x0",
    "HEADER_TABLE_SIZE",
    "ENABLE_PUSH",
    "MAX_CONCURRENT_STREAMS",
    "INITIAL_WINDOW_SIZE",
    "MAX_FRAME_SIZE",
    "MAX_HEADER_LIST_SIZE",
    "0x7",
    "ENABLE_CONNECT_PROTOCOL"
  };

  private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(5);
  private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(US_ASCII);
  private static final int DEFAULT_WINDOW = 65_535;
  private static final int MAX_WINDOW = Integer.MAX_VALUE;
  private static final int FRAME_HEADER_LENGTH = 9;
  private static final int MAX_ACCEPTED_FRAME_LENGTH = 1 << 24;
  private static final AtomicInteger CONNECTIONS = new AtomicInteger();

  private final Socket tcp;
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final String scheme;
  private final String authority;
  private final long originNanos = System.nanoTime();
  private final Thread reader;
  private volatile boolean closing;

  // Write side: one lock for every socket write; lock order is writeLock, then lock.
  private final ReentrantLock writeLock = new ReentrantLock();
  private final DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder();
  private int nextStreamId = 1;
  /** While {@link #corked} runs: what the sends wrote, written to the socket at its end. */
  private ByteArrayOutputStream cork;

  // Reader thread only.
  private final DefaultHttp2HeadersDecoder decoder =
      new DefaultHttp2HeadersDecoder(false, 1L << 24);
  private PendingHeaderBlock pendingBlock;

  // Shared state, guarded by lock; changed is signalled whenever any of it changes.
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final List<Object> log = new ArrayList<>(); // Frame (received and sent) and Note
  private final List<Frame> received = new ArrayList<>();
  private final Map<Integer, Long> streamWindows = new HashMap<>();
  private long connectionWindow = DEFAULT_WINDOW;
  private long peerInitialWindow = DEFAULT_WINDOW;
  private int peerMaxFrameSize = 16_384;
  private long peerHeaderTableSize = 4_096;
  private boolean settingsReceived;
  private boolean closed;

  private RawHttp2Client(Socket tcp, Socket socket, String scheme, String host, int port)
      throws IOException {
    this.tcp = tcp;
    this.socket = socket;
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
    this.scheme = scheme;
    this.authority = host + ":" + port;
    this.reader =
        new Thread(
            this::readLoop,
            "raw-h2-client-" + CONNECTIONS.incrementAndGet() + "-reader-" + authority);
    reader.setDaemon(true);
  }

  /**
   * Connects in plaintext with prior knowledge (h2c), sends the preface, and returns once the
   * server's first SETTINGS frame has arrived (within 5 s, else {@link IllegalStateException}).
   */
  public static RawHttp2Client connect(String host, int port) {
    Socket tcp = openTcp(host, port);
    try {
      return start(new RawHttp2Client(tcp, tcp, "http", host, port));
    } catch (IOException | RuntimeException e) {
      closeQuietly(tcp);
      throw failure("cannot connect to " + host + ":" + port, e);
    }
  }

  /**
   * Connects over TLS trusting {@link TestTls#clientContext() the test certificate}, requires ALPN
   * to select {@code h2}, then proceeds like {@link #connect(String, int)}.
   */
  public static RawHttp2Client connectTls(String host, int port) {
    Socket tcp = openTcp(host, port);
    try {
      SSLSocket ssl =
          (SSLSocket)
              TestTls.clientContext().getSocketFactory().createSocket(tcp, host, port, true);
      SSLParameters parameters = ssl.getSSLParameters();
      parameters.setApplicationProtocols(new String[] {"h2"});
      parameters.setEndpointIdentificationAlgorithm("HTTPS");
      ssl.setSSLParameters(parameters);
      ssl.setSoTimeout((int) TimeUnit.NANOSECONDS.toMillis(WAIT_NANOS));
      ssl.startHandshake();
      ssl.setSoTimeout(0);
      if (!"h2".equals(ssl.getApplicationProtocol())) {
        throw new IllegalStateException(
            "ALPN did not select h2 but '" + ssl.getApplicationProtocol() + "'");
      }
      return start(new RawHttp2Client(tcp, ssl, "https", host, port));
    } catch (IOException | RuntimeException e) {
      closeQuietly(tcp);
      throw failure("cannot connect with TLS to " + host + ":" + port, e);
    }
  }

  private static Socket openTcp(String host, int port) {
    Socket tcp = new Socket();
    try {
      tcp.setTcpNoDelay(true);
      tcp.connect(
          new InetSocketAddress(host, port), (int) TimeUnit.NANOSECONDS.toMillis(WAIT_NANOS));
      return tcp;
    } catch (IOException e) {
      closeQuietly(tcp);
      throw new UncheckedIOException("cannot connect to " + host + ":" + port, e);
    }
  }

  private static RuntimeException failure(String message, Exception cause) {
    if (cause instanceof IOException) {
      return new UncheckedIOException(message, (IOException) cause);
    }
    return cause instanceof IllegalStateException
        ? new IllegalStateException(message + ": " + cause.getMessage(), cause)
        : (RuntimeException) cause;
  }

  private static RawHttp2Client start(RawHttp2Client client) {
    ByteArrayOutputStream preface = new ByteArrayOutputStream();
    preface.writeBytes(PREFACE);
    List<Frame> sent = new ArrayList<>();
    byte[] settings = new byte[12];
    putSetting(settings, 0, 0x2, 0); // ENABLE_PUSH
    putSetting(settings, 6, 0x4, MAX_WINDOW); // INITIAL_WINDOW_SIZE
    client.appendFrame(preface, sent, SETTINGS, 0, 0, settings, 0, settings.length, null);
    byte[] increment = int32(MAX_WINDOW - DEFAULT_WINDOW);
    client.appendFrame(preface, sent, WINDOW_UPDATE, 0, 0, increment, 0, 4, null);
    client.write(preface, sent); // before the reader starts, so the preface precedes any ACK
    client.reader.start();
    String failure = client.awaitFirstSettings();
    if (failure != null) {
      client.close();
      throw new IllegalStateException(failure);
    }
    return client;
  }

  /** Waits for the server's first SETTINGS; returns null, or why it did not come. */
  private String awaitFirstSettings() {
    lock.lock();
    try {
      long deadline = System.nanoTime() + WAIT_NANOS;
      while (!settingsReceived) {
        long left = deadline - System.nanoTime();
        if (closed || left <= 0) {
          return (closed ? "connection closed" : "no SETTINGS within 5 s")
              + " after the preface\n"
              + describeFrames();
        }
        awaitChange(left);
      }
      return null;
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------- sending

  /**
   * Opens the next client stream with a gRPC request HEADERS frame ({@code :method POST}, {@code
   * :scheme}, {@code :path}, {@code :authority}, {@code content-type application/grpc}, {@code te
   * trailers}, then {@code extraHeaders} in iteration order, replacing defaults of the same name)
   * and returns its id.
   */
  public int startCall(String path, Map<String, String> extraHeaders, boolean endStream) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put(":method", "POST");
    headers.put(":scheme", scheme);
    headers.put(":path", path);
    headers.put(":authority", authority);
    headers.put("content-type", "application/grpc");
    headers.put("te", "trailers");
    if (extraHeaders != null) {
      headers.putAll(extraHeaders);
    }
    writeLock.lock();
    try {
      int streamId = nextStreamId;
      nextStreamId += 2;
      sendHeaders(streamId, headers, endStream);
      return streamId;
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Sends exactly these headers (HPACK-encoded, END_HEADERS set, split into CONTINUATION frames
   * beyond the peer's maximum frame size) on a stream; {@link #startCall} is the usual way in.
   */
  public void sendHeaders(int streamId, Map<String, String> headers, boolean endStream) {
    Http2Headers encoded = new DefaultHttp2Headers(false);
    headers.forEach(encoded::add);
    writeLock.lock();
    try {
      byte[] block;
      ByteBuf buffer = Unpooled.buffer();
      try {
        encoder.encodeHeaders(streamId, encoded, buffer);
        block = ByteBufUtil.getBytes(buffer);
      } catch (Http2Exception e) {
        throw new IllegalArgumentException("cannot HPACK-encode " + headers, e);
      } finally {
        buffer.release();
      }
      int maxFrame = maxFrameSize();
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      List<Frame> sent = new ArrayList<>();
      int offset = 0;
      do {
        int length = Math.min(maxFrame, block.length - offset);
        boolean first = offset == 0;
        boolean last = offset + length == block.length;
        int flags = (last ? FLAG_END_HEADERS : 0) | (first && endStream ? FLAG_END_STREAM : 0);
        appendFrame(
            bytes,
            sent,
            first ? HEADERS : CONTINUATION,
            flags,
            streamId,
            block,
            offset,
            length,
            first ? new LinkedHashMap<>(headers) : null);
        offset += length;
      } while (offset < block.length);
      lock.lock();
      try {
        streamWindows.putIfAbsent(streamId, peerInitialWindow);
      } finally {
        lock.unlock();
      }
      write(bytes, sent);
    } finally {
      writeLock.unlock();
    }
  }

  /** Sends one gRPC length-prefixed message (uncompressed) as DATA, like {@link #sendData}. */
  public void sendMessage(int streamId, byte[] message, boolean endStream) {
    sendData(streamId, lengthPrefixed(message), endStream);
  }

  /**
   * Sends raw DATA: one frame, or several if the payload exceeds the peer's maximum frame size;
   * END_STREAM, if asked, goes on the last. {@code sendData(id, new byte[0], true)} half-closes.
   * Waits up to 5 s at a time for the peer's flow-control windows to open (flushing what was
   * already sent), then throws {@link IllegalStateException}.
   */
  public void sendData(int streamId, byte[] payload, boolean endStream) {
    writeLock.lock();
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      List<Frame> sent = new ArrayList<>();
      int offset = 0;
      while (true) {
        int length = reserveWindow(streamId, payload.length - offset);
        if (length == 0 && offset < payload.length) {
          write(bytes, sent);
          bytes.reset();
          sent.clear();
          writeLock.unlock();
          try {
            awaitWindow(streamId, payload.length - offset);
          } finally {
            writeLock.lock();
          }
          continue;
        }
        boolean last = offset + length == payload.length;
        int flags = last && endStream ? FLAG_END_STREAM : 0;
        appendFrame(bytes, sent, DATA, flags, streamId, payload, offset, length, null);
        offset += length;
        if (last) {
          break;
        }
      }
      write(bytes, sent);
    } finally {
      writeLock.unlock();
    }
  }

  /** Sends RST_STREAM with this error code. */
  public void sendRstStream(int streamId, long errorCode) {
    sendFrame(RST_STREAM, 0, streamId, int32(errorCode));
  }

  /** Sends GOAWAY with this last stream id and error code, without debug data. */
  public void sendGoAway(int lastStreamId, long errorCode) {
    byte[] payload = new byte[8];
    System.arraycopy(int32(lastStreamId), 0, payload, 0, 4);
    System.arraycopy(int32(errorCode), 0, payload, 4, 4);
    sendFrame(GOAWAY, 0, 0, payload);
  }

  /** Sends a PING (not an ACK) carrying these 8 bytes. */
  public void sendPing(long data) {
    sendFrame(PING, 0, 0, int64(data));
  }

  /**
   * Sends one frame exactly as given, whatever its type, flags, stream id or payload (malformed
   * included), for tests that feed a server hostile input. The client's flow-control accounting
   * does not see it: DATA sent this way is not taken from the windows {@link #sendData} respects.
   */
  public void sendRawFrame(int type, int flags, int streamId, byte[] payload) {
    sendFrame(type, flags, streamId, payload);
  }

  /**
   * Runs {@code sends} (calls to this client's send methods) holding the write side, and writes all
   * they sent in one socket write when it returns or throws: for frames that must be contiguous (a
   * header block continued in CONTINUATION frames sent with {@link #sendRawFrame}) or that should
   * reach the server together (HEADERS then RST_STREAM, as in Rapid Reset). The client's own
   * SETTINGS and PING acknowledgements wait meanwhile. DATA inside it must fit the peer's windows:
   * waiting for a WINDOW_UPDATE there fails after 5 s.
   */
  public void corked(Runnable sends) {
    writeLock.lock();
    try {
      if (cork != null) {
        sends.run(); // nested: the outer call writes
        return;
      }
      cork = new ByteArrayOutputStream();
      try {
        sends.run();
      } finally {
        byte[] bytes = cork.toByteArray();
        cork = null;
        if (bytes.length > 0) {
          writeToSocket(bytes);
        }
      }
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Returns once the server has processed every frame sent before: HTTP/2 peers answer a PING
   * only after the frames read before it.
   */
  public void sync() {
    long data = syncPings.incrementAndGet();
    sendPing(data);
    awaitFrame(f -> f.type() == PING && f.ack() && pingData(f) == data, Duration.ofSeconds(5));
  }

  /**
   * Like {@link #sync()}, on a connection the server may be closing: {@code false} if it closed
   * first (everything the server sent before its close is recorded by then). Fails if the
   * connection stays open without an answer for 5 s.
   */
  public boolean syncUnlessClosed() {
    long data = syncPings.incrementAndGet();
    try {
      sendPing(data);
    } catch (UncheckedIOException e) {
      if (awaitClosed(Duration.ofSeconds(5))) {
        return false;
      }
      throw e;
    }
    Frame ack = findFrame(f -> f.type() == PING && f.ack() && pingData(f) == data, Duration.ofSeconds(5));
    if (ack == null && !isClosed()) {
      throw new AssertionError("no PING ACK within 5 s\n" + describeFrames());
    }
    return ack != null;
  }

  private static long pingData(Frame frame) {
    byte[] p = frame.payload();
    long value = 0;
    for (int i = 0; i < 8 && i < p.length; i++) {
      value = (value << 8) | (p[i] & 0xff);
    }
    return value;
  }

  /** The gRPC wire form of a message: compressed flag 0, 4-byte big-endian length, the bytes. */
  public static byte[] lengthPrefixed(byte[] message) {
    byte[] framed = new byte[5 + message.length];
    System.arraycopy(int32(message.length), 0, framed, 1, 4);
    System.arraycopy(message, 0, framed, 5, message.length);
    return framed;
  }

  private void sendFrame(int type, int flags, int streamId, byte[] payload) {
    writeLock.lock();
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      List<Frame> sent = new ArrayList<>();
      appendFrame(bytes, sent, type, flags, streamId, payload, 0, payload.length, null);
      write(bytes, sent);
    } finally {
      writeLock.unlock();
    }
  }

  private void appendFrame(
      ByteArrayOutputStream bytes,
      List<Frame> sent,
      int type,
      int flags,
      int streamId,
      byte[] payload,
      int offset,
      int length,
      Map<String, String> headers) {
    bytes.write(length >>> 16);
    bytes.write(length >>> 8);
    bytes.write(length);
    bytes.write(type);
    bytes.write(flags);
    bytes.writeBytes(int32(streamId & 0x7fffffffL));
    bytes.write(payload, offset, length);
    byte[] copy = Arrays.copyOfRange(payload, offset, offset + length);
    sent.add(new Frame(type, flags, streamId, 0, 0, copy, headers, true, originNanos));
  }

  /** Logs the frames as sent, then writes and flushes the bytes in one call; needs writeLock. */
  private void write(ByteArrayOutputStream bytes, List<Frame> sent) {
    if (bytes.size() == 0) {
      return;
    }
    long now = System.nanoTime();
    lock.lock();
    try {
      for (Frame frame : sent) {
        log.add(frame.sentAt(now));
      }
    } finally {
      lock.unlock();
    }
    if (cork != null) {
      cork.writeBytes(bytes.toByteArray());
      return;
    }
    writeToSocket(bytes.toByteArray());
  }

  /** Writes and flushes; needs writeLock. */
  private void writeToSocket(byte[] bytes) {
    try {
      out.write(bytes);
      out.flush();
    } catch (IOException e) {
      note("write failed: " + e);
      throw new UncheckedIOException("write to " + authority + " failed", e);
    }
  }

  private int maxFrameSize() {
    lock.lock();
    try {
      return peerMaxFrameSize;
    } finally {
      lock.unlock();
    }
  }

  /** Takes up to {@code wanted} bytes (at most one frame's worth) from both send windows. */
  private int reserveWindow(int streamId, int wanted) {
    lock.lock();
    try {
      long stream = streamWindows.computeIfAbsent(streamId, id -> peerInitialWindow);
      long length =
          Math.min(Math.min(wanted, peerMaxFrameSize), Math.min(connectionWindow, stream));
      if (length <= 0) {
        return 0;
      }
      connectionWindow -= length;
      streamWindows.put(streamId, stream - length);
      return (int) length;
    } finally {
      lock.unlock();
    }
  }

  private void awaitWindow(int streamId, int remaining) {
    lock.lock();
    try {
      long deadline = System.nanoTime() + WAIT_NANOS;
      while (connectionWindow <= 0 || streamWindows.get(streamId) <= 0) {
        long left = deadline - System.nanoTime();
        if (closed || left <= 0) {
          throw new IllegalStateException(
              String.format(
                  Locale.ROOT,
                  "%s while waiting for flow-control window to send %d more DATA bytes on stream"
                      + " %d (connection window %d, stream window %d)%n%s",
                  closed ? "connection closed" : "no WINDOW_UPDATE within 5 s",
                  remaining,
                  streamId,
                  connectionWindow,
                  streamWindows.get(streamId),
                  describeFrames()));
        }
        awaitChange(left);
      }
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------- receiving

  private void readLoop() {
    byte[] buffer = new byte[64 * 1024];
    int end = 0;
    int batch = 0;
    try {
      while (true) {
        int n = in.read(buffer, end, buffer.length - end);
        if (n < 0) {
          markClosed("connection closed by peer (EOF)");
          return;
        }
        if (n == 0) {
          continue;
        }
        batch++;
        end += n;
        long now = System.nanoTime();
        int start = 0;
        while (end - start >= FRAME_HEADER_LENGTH) {
          int length = u24(buffer, start);
          if (length > MAX_ACCEPTED_FRAME_LENGTH) {
            markClosed("received an absurd frame length " + length + "; stopped reading");
            return;
          }
          if (end - start < FRAME_HEADER_LENGTH + length) {
            if (buffer.length < FRAME_HEADER_LENGTH + length) {
              buffer = Arrays.copyOf(buffer, FRAME_HEADER_LENGTH + length);
            }
            break;
          }
          int type = buffer[start + 3] & 0xff;
          int flags = buffer[start + 4] & 0xff;
          int streamId = (int) (u32(buffer, start + 5) & 0x7fffffffL);
          int from = start + FRAME_HEADER_LENGTH;
          byte[] payload = Arrays.copyOfRange(buffer, from, from + length);
          Frame frame =
              new Frame(type, flags, streamId, now, batch, payload, null, false, originNanos);
          try {
            onFrame(frame);
          } catch (RuntimeException malformed) {
            note("could not process the next frame: " + malformed);
            publish(List.of(frame));
          }
          start = from + length;
        }
        System.arraycopy(buffer, start, buffer, 0, end - start);
        end -= start;
      }
    } catch (IOException e) {
      markClosed(closing ? "closed by the test" : "connection failed: " + e);
    } catch (RuntimeException | Error e) {
      markClosed("reader thread failed: " + e);
      throw e;
    }
  }

  private void onFrame(Frame frame) {
    int type = frame.type();
    if (pendingBlock != null) {
      if (type == CONTINUATION && frame.streamId() == pendingBlock.first.streamId()) {
        continueHeaderBlock(frame);
        return;
      }
      note("protocol violation: a header block was interrupted; recording it undecoded");
      publish(pendingBlock.frames);
      pendingBlock = null;
    }
    if ((type == HEADERS || type == PUSH_PROMISE) && !frame.hasFlag(FLAG_END_HEADERS)) {
      pendingBlock = new PendingHeaderBlock(frame);
      return;
    }
    switch (type) {
      case HEADERS:
      case PUSH_PROMISE:
        publish(List.of(frame.withHeaders(decode(frame.streamId(), headerFragment(frame)))));
        break;
      case SETTINGS:
        onSettings(frame);
        break;
      case PING:
        publish(List.of(frame));
        if (!frame.ack()) {
          trySendAck(PING, frame.payload());
        }
        break;
      case WINDOW_UPDATE:
        lock.lock();
        try {
          long increment = frame.windowIncrement();
          if (frame.streamId() == 0) {
            connectionWindow += increment;
          } else {
            streamWindows.merge(
                frame.streamId(), peerInitialWindow + increment, (w, x) -> w + increment);
          }
          publish(List.of(frame));
        } finally {
          lock.unlock();
        }
        break;
      default:
        publish(List.of(frame));
    }
  }

  /** Adds a CONTINUATION; on the last one records the HEADERS, decoded, and its CONTINUATIONs. */
  private void continueHeaderBlock(Frame frame) {
    PendingHeaderBlock pending = pendingBlock;
    pending.frames.add(frame);
    pending.block.writeBytes(frame.payload);
    if (frame.hasFlag(FLAG_END_HEADERS)) {
      pendingBlock = null;
      List<Frame> frames = new ArrayList<>(pending.frames);
      frames.set(
          0,
          pending.first.withHeaders(decode(pending.first.streamId(), pending.block.toByteArray())));
      publish(frames);
    }
  }

  private void onSettings(Frame frame) {
    writeLock.lock();
    try {
      lock.lock();
      try {
        if (!frame.ack()) {
          applySettings(frame.payload());
          settingsReceived = true;
        }
        publish(List.of(frame));
      } finally {
        lock.unlock();
      }
      if (!frame.ack()) {
        trySendAck(SETTINGS, new byte[0]);
      }
    } finally {
      writeLock.unlock();
    }
  }

  /** Applies the peer's SETTINGS to the send side; needs writeLock and lock. */
  private void applySettings(byte[] payload) {
    for (int i = 0; i + 6 <= payload.length; i += 6) {
      int id = ((payload[i] & 0xff) << 8) | (payload[i + 1] & 0xff);
      long value = u32(payload, i + 2);
      if (id == 0x1 && value != peerHeaderTableSize) {
        peerHeaderTableSize = value;
        try {
          encoder.configuration().maxHeaderTableSize(value);
        } catch (Http2Exception e) {
          note("cannot apply HEADER_TABLE_SIZE " + value + ": " + e);
        }
      } else if (id == 0x4) {
        long delta = value - peerInitialWindow;
        peerInitialWindow = value;
        streamWindows.replaceAll((stream, window) -> window + delta);
      } else if (id == 0x5) {
        peerMaxFrameSize = (int) value;
      }
    }
  }

  private void trySendAck(int type, byte[] payload) {
    try {
      sendFrame(type, FLAG_ACK, 0, payload);
    } catch (UncheckedIOException e) {
      // Noted by write(); the reader goes on until the socket reports EOF or an error.
    }
  }

  private static byte[] headerFragment(Frame frame) {
    byte[] payload = frame.payload;
    int start = 0;
    int padding = 0;
    if (frame.hasFlag(FLAG_PADDED)) {
      padding = payload[0] & 0xff;
      start = 1;
    }
    if (frame.type() == HEADERS && frame.hasFlag(FLAG_PRIORITY)) {
      start += 5;
    } else if (frame.type() == PUSH_PROMISE) {
      start += 4;
    }
    return Arrays.copyOfRange(payload, start, Math.max(start, payload.length - padding));
  }

  private Map<String, String> decode(int streamId, byte[] block) {
    ByteBuf buffer = Unpooled.wrappedBuffer(block);
    try {
      Http2Headers headers = decoder.decodeHeaders(streamId, buffer);
      Map<String, String> map = new LinkedHashMap<>();
      headers.forEach(
          e -> map.merge(e.getKey().toString(), e.getValue().toString(), (a, b) -> a + "," + b));
      return map;
    } catch (Http2Exception e) {
      note("HPACK decoding failed on stream " + streamId + ": " + e.getMessage());
      return Map.of();
    } finally {
      buffer.release();
    }
  }

  private void publish(List<Frame> frames) {
    lock.lock();
    try {
      log.addAll(frames);
      received.addAll(frames);
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private void note(String text) {
    lock.lock();
    try {
      log.add(new Note(System.nanoTime(), text));
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private void markClosed(String reason) {
    lock.lock();
    try {
      if (!closed) {
        log.add(new Note(System.nanoTime(), reason));
        closed = true;
      }
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------- observing

  /** A snapshot of every frame received so far, in arrival order. */
  public List<Frame> frames() {
    lock.lock();
    try {
      return List.copyOf(received);
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@link System#nanoTime()} when this client wrote the first frame of {@code streamId} (its
   * HEADERS): nothing the server does on that stream, a grace it starts included, can begin
   * earlier, however late the client's reader thread runs.
   */
  public long firstSentNanos(int streamId) {
    lock.lock();
    try {
      for (Object entry : log) {
        if (entry instanceof Frame && ((Frame) entry).sent() && ((Frame) entry).streamId() == streamId) {
          return ((Frame) entry).receivedNanos();
        }
      }
    } finally {
      lock.unlock();
    }
    throw new IllegalArgumentException("nothing sent on stream " + streamId);
  }

  /** A snapshot of the frames received so far on one stream (0 for the connection). */
  public List<Frame> frames(int streamId) {
    return frames().stream().filter(f -> f.streamId() == streamId).collect(Collectors.toList());
  }

  /** The concatenated DATA payloads (padding removed) received so far on a stream. */
  public byte[] receivedData(int streamId) {
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    for (Frame frame : frames(streamId)) {
      if (frame.type() == DATA) {
        data.writeBytes(frame.data());
      }
    }
    return data.toByteArray();
  }

  /**
   * Returns the first received frame, already recorded or arriving within the timeout, that
   * matches; otherwise throws an {@link AssertionError} carrying the whole recording. Fails early
   * if the connection closes without a match.
   */
  public Frame awaitFrame(Predicate<? super Frame> predicate, Duration timeout) {
    Frame frame = findFrame(predicate, timeout);
    if (frame == null) {
      throw new AssertionError(
          (isClosed() ? "connection closed" : "timed out after " + timeout)
              + " without a matching frame\n"
              + describeFrames());
    }
    return frame;
  }

  /**
   * The first received frame matching {@code predicate}, waiting up to {@code timeout} for it; {@code
   * null} if none came before the timeout or the connection closed. For a frame that may rightly not
   * come; {@link #awaitFrame(Predicate, Duration)} is for one that must.
   */
  public Frame findFrame(Predicate<? super Frame> predicate, Duration timeout) {
    lock.lock();
    try {
      long deadline = System.nanoTime() + timeout.toNanos();
      int next = 0;
      while (true) {
        for (; next < received.size(); next++) {
          if (predicate.test(received.get(next))) {
            return received.get(next);
          }
        }
        long left = deadline - System.nanoTime();
        if (closed || left <= 0) {
          return null;
        }
        awaitChange(left);
      }
    } finally {
      lock.unlock();
    }
  }

  /** The {@code host:port} this client connected to, as its requests' {@code :authority}. */
  public String authority() {
    return authority;
  }

  /** Like {@link #awaitFrame(Predicate, Duration)} for the first frame of a type on a stream. */
  public Frame awaitFrame(int streamId, int type, Duration timeout) {
    return awaitFrame(f -> f.streamId() == streamId && f.type() == type, timeout);
  }

  /**
   * Waits out the whole window (or until the connection closes) and throws an {@link
   * AssertionError} carrying the recording as soon as a matching frame is found, including frames
   * received before the call.
   */
  public void assertNoFrame(Predicate<? super Frame> predicate, Duration window) {
    lock.lock();
    try {
      long deadline = System.nanoTime() + window.toNanos();
      int next = 0;
      while (true) {
        for (; next < received.size(); next++) {
          Frame frame = received.get(next);
          if (predicate.test(frame)) {
            throw new AssertionError("unexpected frame " + frame + "\n" + describeFrames());
          }
        }
        long left = deadline - System.nanoTime();
        if (closed || left <= 0) {
          return;
        }
        awaitChange(left);
      }
    } finally {
      lock.unlock();
    }
  }

  /** Waits until the socket is closed (EOF or error on read); returns whether it did in time. */
  public boolean awaitClosed(Duration timeout) {
    lock.lock();
    try {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!closed) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        awaitChange(left);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** Whether the reader has seen the socket close (EOF or error), whoever closed it. */
  public boolean isClosed() {
    lock.lock();
    try {
      return closed;
    } finally {
      lock.unlock();
    }
  }

  /**
   * The recording, one line per frame received ({@code batch=N}) or sent ({@code sent}), plus notes
   * such as the connection closing, in time order, with times relative to the connection's start.
   */
  public String describeFrames() {
    lock.lock();
    try {
      StringBuilder text = new StringBuilder();
      text.append("HTTP/2 frames on ")
          .append(scheme)
          .append("://")
          .append(authority)
          .append(" (")
          .append(received.size())
          .append(" received):");
      List<Object> entries = new ArrayList<>(log);
      entries.sort(Comparator.comparingLong(entry -> nanosOf(entry) - originNanos)); // stable
      for (Object entry : entries) {
        text.append("\n  ")
            .append(entry instanceof Note ? ((Note) entry).describe(originNanos) : entry);
      }
      return text.toString();
    } finally {
      lock.unlock();
    }
  }

  private static long nanosOf(Object entry) {
    return entry instanceof Note ? ((Note) entry).nanos : ((Frame) entry).receivedNanos;
  }

  /** Closes the socket (no GOAWAY) and waits up to 5 s for the reader thread to end. */
  @Override
  public void close() {
    closing = true;
    closeQuietly(tcp);
    closeQuietly(socket);
    if (Thread.currentThread() != reader && reader.isAlive()) {
      try {
        reader.join(TimeUnit.NANOSECONDS.toMillis(WAIT_NANOS));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The connection's scheme and authority, and whether it is closed. */
  @Override
  public String toString() {
    return "RawHttp2Client[" + scheme + "://" + authority + (isClosed() ? ", closed]" : "]");
  }

  /** Needs lock. */
  private void awaitChange(long nanos) {
    try {
      changed.awaitNanos(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting\n" + describeFrames(), e);
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // closing anyway
    }
  }

  private static void putSetting(byte[] payload, int offset, int id, long value) {
    payload[offset] = (byte) (id >>> 8);
    payload[offset + 1] = (byte) id;
    System.arraycopy(int32(value), 0, payload, offset + 2, 4);
  }

  private static byte[] int32(long value) {
    return new byte[] {
      (byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value
    };
  }

  private static byte[] int64(long value) {
    byte[] bytes = new byte[8];
    for (int i = 0; i < 8; i++) {
      bytes[i] = (byte) (value >>> (56 - 8 * i));
    }
    return bytes;
  }

  private static int u24(byte[] bytes, int offset) {
    return ((bytes[offset] & 0xff) << 16)
        | ((bytes[offset + 1] & 0xff) << 8)
        | (bytes[offset + 2] & 0xff);
  }

  private static long u32(byte[] bytes, int offset) {
    return ((long) u24(bytes, offset) << 8) | (bytes[offset + 3] & 0xff);
  }

  /** The name of an HTTP/2 error code, e.g. {@code CANCEL(0x8)}. */
  public static String errorCodeName(long code) {
    String name = code >= 0 && code < ERROR_NAMES.length ? ERROR_NAMES[(int) code] : "UNKNOWN";
    return name + "(0x" + Long.toHexString(code) + ")";
  }

  /** The name of an HTTP/2 frame type, e.g. {@code RST_STREAM}. */
  public static String frameTypeName(int type) {
    return type >= 0 && type < TYPE_NAMES.length
        ? TYPE_NAMES[type]
        : "UNKNOWN(0x" + Integer.toHexString(type) + ")";
  }

  /** A header block in progress: its HEADERS frame, the CONTINUATIONs so far and the bytes. */
  private static final class PendingHeaderBlock {
    final Frame first;
    final List<Frame> frames = new ArrayList<>();
    final ByteArrayOutputStream block = new ByteArrayOutputStream();

    PendingHeaderBlock(Frame first) {
      this.first = first;
      frames.add(first);
      block.writeBytes(headerFragment(first));
    }
  }

  /** A line in the recording that is not a frame. */
  private static final class Note {
    final long nanos;
    final String text;

    Note(long nanos, String text) {
      this.nanos = nanos;
      this.text = text;
    }

    String describe(long originNanos) {
      return Frame.offset(nanos, originNanos) + " -- " + text;
    }
  }

  /**
   * One frame as it crossed the socket, with decoding helpers. Received frames carry the time and
   * read batch of the read that delivered their last byte; sent frames (only visible in {@link
   * #describeFrames()}) carry the time they were written and batch 0.
   */
  public static final class Frame {
    private final int type;
    private final int flags;
    private final int streamId;
    private final long receivedNanos;
    private final int readBatch;
    private final byte[] payload;
    private final Map<String, String> headers;
    private final boolean sent;
    private final long originNanos;

    private Frame(
        int type,
        int flags,
        int streamId,
        long receivedNanos,
        int readBatch,
        byte[] payload,
        Map<String, String> headers,
        boolean sent,
        long originNanos) {
      this.type = type;
      this.flags = flags;
      this.streamId = streamId;
      this.receivedNanos = receivedNanos;
      this.readBatch = readBatch;
      this.payload = payload;
      this.headers = headers == null ? null : Collections.unmodifiableMap(headers);
      this.sent = sent;
      this.originNanos = originNanos;
    }

    private Frame withHeaders(Map<String, String> decoded) {
      return new Frame(
          type, flags, streamId, receivedNanos, readBatch, payload, decoded, sent, originNanos);
    }

    private Frame sentAt(long nanos) {
      return new Frame(
          type, flags, streamId, nanos, readBatch, payload, headers, sent, originNanos);
    }

    /** The frame type, e.g. {@link RawHttp2Client#HEADERS}. */
    public int type() {
      return type;
    }

    /** The frame type's name, e.g. {@code "HEADERS"}. */
    public String typeName() {
      return frameTypeName(type);
    }

    /** The raw flags byte. */
    public int flags() {
      return flags;
    }

    /** Whether all bits of {@code flag} are set. */
    public boolean hasFlag(int flag) {
      return (flags & flag) == flag;
    }

    /** The stream id; 0 for connection frames. */
    public int streamId() {
      return streamId;
    }

    /** {@link System#nanoTime()} when the read that completed this frame returned. */
    public long receivedNanos() {
      return receivedNanos;
    }

    /**
     * The number of the {@code InputStream.read} call that delivered this frame's last byte
     * (counting only reads that returned bytes, from 1). Equal numbers mean the frames arrived
     * together, which is evidence that the server wrote them in one flush. Over TLS a read returns
     * at most one TLS record's plaintext, so frames flushed together may still get different
     * numbers there.
     */
    public int readBatch() {
      return readBatch;
    }

    /** Whether this client sent the frame: such frames appear in {@link #describeFrames()} only. */
    public boolean sent() {
      return sent;
    }

    /** A copy of the raw payload, padding included. */
    public byte[] payload() {
      return payload.clone();
    }

    /** Whether this is a DATA or HEADERS frame with END_STREAM set. */
    public boolean endStream() {
      return (type == DATA || type == HEADERS) && hasFlag(FLAG_END_STREAM);
    }

    /** Whether this is a SETTINGS or PING frame with ACK set. */
    public boolean ack() {
      return (type == SETTINGS || type == PING) && hasFlag(FLAG_ACK);
    }

    /**
     * The decoded header list of a HEADERS frame (with its CONTINUATIONs), in order; repeated names
     * are joined with commas. Empty for other frames.
     */
    public Map<String, String> headers() {
      return headers == null ? Map.of() : headers;
    }

    /** One decoded header of a HEADERS frame, or null. */
    public String header(String name) {
      return headers().get(name);
    }

    /** The error code of a RST_STREAM or GOAWAY frame. */
    public long errorCode() {
      if (type == RST_STREAM) {
        return u32(payload, 0);
      }
      if (type == GOAWAY) {
        return u32(payload, 4);
      }
      throw new IllegalStateException("no error code in " + this);
    }

    /** The last stream id of a GOAWAY frame. */
    public int lastStreamId() {
      requireType(GOAWAY);
      return (int) (u32(payload, 0) & 0x7fffffffL);
    }

    /** The increment of a WINDOW_UPDATE frame. */
    public int windowIncrement() {
      requireType(WINDOW_UPDATE);
      return (int) (u32(payload, 0) & 0x7fffffffL);
    }

    /** The application data of a DATA frame (padding removed). */
    public byte[] data() {
      requireType(DATA);
      if (!hasFlag(FLAG_PADDED)) {
        return payload.clone();
      }
      return Arrays.copyOfRange(payload, 1, payload.length - (payload[0] & 0xff));
    }

    private void requireType(int expected) {
      if (type != expected) {
        throw new IllegalStateException("not a " + frameTypeName(expected) + " frame: " + this);
      }
    }

    /**
     * One line, e.g. {@code +12.345ms batch=7 HEADERS stream=3 END_STREAM|END_HEADERS {:status=200,
     * grpc-status=7}}.
     */
    @Override
    public String toString() {
      StringBuilder text = new StringBuilder(offset(receivedNanos, originNanos));
      text.append(sent ? " sent    " : String.format(Locale.ROOT, " batch=%-3d", readBatch));
      text.append(typeName()).append(" stream=").append(streamId);
      String flagNames = flagNames();
      if (!flagNames.isEmpty()) {
        text.append(' ').append(flagNames);
      }
      text.append(' ').append(details());
      return text.toString().stripTrailing();
    }

    private String flagNames() {
      List<String> names = new ArrayList<>();
      if (type == DATA || type == HEADERS) {
        addIf(names, FLAG_END_STREAM, "END_STREAM");
      }
      if (type == SETTINGS || type == PING) {
        addIf(names, FLAG_ACK, "ACK");
      }
      if (type == HEADERS || type == PUSH_PROMISE || type == CONTINUATION) {
        addIf(names, FLAG_END_HEADERS, "END_HEADERS");
      }
      if (type == DATA || type == HEADERS || type == PUSH_PROMISE) {
        addIf(names, FLAG_PADDED, "PADDED");
      }
      if (type == HEADERS) {
        addIf(names, FLAG_PRIORITY, "PRIORITY");
      }
      return String.join("|", names);
    }

    private void addIf(List<String> names, int flag, String name) {
      if (hasFlag(flag)) {
        names.add(name);
      }
    }

    private String details() {
      try {
        switch (type) {
          case DATA:
            return "len=" + payload.length + " " + preview(data());
          case HEADERS:
          case PUSH_PROMISE:
            return headers == null ? "len=" + payload.length : headers.toString();
          case RST_STREAM:
            return errorCodeName(errorCode());
          case SETTINGS:
            return settingsText();
          case PING:
            return "0x" + ByteBufUtil.hexDump(payload);
          case GOAWAY:
            String debug = new String(payload, 8, payload.length - 8, UTF_8);
            return "last="
                + lastStreamId()
                + " "
                + errorCodeName(errorCode())
                + (debug.isEmpty() ? "" : " debug=\"" + debug + "\"");
          case WINDOW_UPDATE:
            return "+" + windowIncrement();
          default:
            return "len=" + payload.length;
        }
      } catch (RuntimeException malformed) {
        return "malformed len=" + payload.length + " " + preview(payload);
      }
    }

    private String settingsText() {
      StringBuilder text = new StringBuilder("{");
      for (int i = 0; i + 6 <= payload.length; i += 6) {
        int id = ((payload[i] & 0xff) << 8) | (payload[i + 1] & 0xff);
        String name =
            id < SETTING_NAMES.length ? SETTING_NAMES[id] : "0x" + Integer.toHexString(id);
        text.append(i == 0 ? "" : ", ").append(name).append('=').append(u32(payload, i + 2));
      }
      return text.append('}').toString();
    }

    private static String preview(byte[] bytes) {
      int shown = Math.min(bytes.length, 16);
      return bytes.length == 0
          ? ""
          : "[" + ByteBufUtil.hexDump(bytes, 0, shown) + (shown < bytes.length ? "...]" : "]");
    }

    static String offset(long nanos, long originNanos) {
      return String.format(Locale.ROOT, "%+10.3fms", (nanos - originNanos) / 1e6);
    }
  }
}
