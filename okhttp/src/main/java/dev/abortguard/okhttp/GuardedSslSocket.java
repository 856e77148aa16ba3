package dev.abortguard.okhttp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.util.function.Function;
import javax.net.ssl.SSLSocket;

/**
 * A TLS socket whose plaintext streams are the guard's: under TLS only the {@link SSLSocket} that
 * grpc-okhttp's socket factory returns carries HTTP/2 frames in the clear, so the guard wraps that
 * socket. Everything but the streams and {@link #close()} is the real socket's.
 *
 * <p>Every other method goes to the real socket ({@link ForwardingSslSocket}).
 */
final class GuardedSslSocket extends ForwardingSslSocket {
  private final Function<Socket, SocketStreams> newConnection;
  private final Object lock = new Object();
  /** Made on first stream access; guarded by {@link #lock}. */
  private SocketStreams streams;
  /** Guarded by {@link #lock}. */
  private boolean closed;

  GuardedSslSocket(SSLSocket delegate, Function<Socket, SocketStreams> newConnection) {
    super(delegate);
    this.newConnection = newConnection;
  }

  /**
   * The connection's guard, made only when grpc-okhttp first asks for a stream, which it does only
   * after a successful handshake: when the handshake fails, grpc-okhttp closes the raw socket and
   * never this one, so a guard made earlier would never hear {@link SocketStreams#closed()}.
   */
  private SocketStreams streams() throws SocketException {
    synchronized (lock) {
      if (closed) {
        // A guard made now would never be told the socket closed.
        throw new SocketException("Socket is closed");
      }
      if (streams == null) {
        streams = newConnection.apply(this);
      }
      return streams;
    }
  }

  @Override
  public InputStream getInputStream() throws IOException {
    return streams().input(delegate::getInputStream);
  }

  @Override
  public OutputStream getOutputStream() throws IOException {
    return streams().output(delegate::getOutputStream);
  }

  @Override
  public void close() throws IOException {
    SocketStreams opened;
    synchronized (lock) {
      closed = true;
      opened = streams;
    }
    try {
      delegate.close();
    } finally {
      if (opened != null) {
        opened.closed();
      }
    }
  }
}
