package dev.abortguard.okhttp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.function.Function;
import javax.net.ServerSocketFactory;

/**
 * Server sockets whose accepted connections grpc-okhttp reads and writes through the guard: the
 * plaintext seam, {@code OkHttpServerBuilder.socketFactory(...)}. Under TLS these sockets would
 * carry ciphertext, so {@link GuardedTls} wraps the TLS socket instead.
 */
final class GuardedServerSocketFactory extends ServerSocketFactory {
  private final Function<Socket, SocketStreams> newConnection;

  GuardedServerSocketFactory(Function<Socket, SocketStreams> newConnection) {
    this.newConnection = newConnection;
  }

  @Override
  public ServerSocket createServerSocket() throws IOException {
    return new GuardedServerSocket();
  }

  @Override
  public ServerSocket createServerSocket(int port) throws IOException {
    return bound(new InetSocketAddress(port), 50);
  }

  @Override
  public ServerSocket createServerSocket(int port, int backlog) throws IOException {
    return bound(new InetSocketAddress(port), backlog);
  }

  @Override
  public ServerSocket createServerSocket(int port, int backlog, InetAddress address) throws IOException {
    return bound(new InetSocketAddress(address, port), backlog);
  }

  private ServerSocket bound(InetSocketAddress address, int backlog) throws IOException {
    ServerSocket socket = new GuardedServerSocket();
    socket.bind(address, backlog);
    return socket;
  }

  private final class GuardedServerSocket extends ServerSocket {
    GuardedServerSocket() throws IOException {
      super();
    }

    @Override
    public Socket accept() throws IOException {
      GuardedSocket socket = new GuardedSocket();
      implAccept(socket);
      socket.streams = newConnection.apply(socket);
      return socket;
    }
  }

  /** An accepted plaintext socket whose streams are the guard's. */
  private static final class GuardedSocket extends Socket {
    /** Set once accepted, before grpc-okhttp sees the socket. */
    private SocketStreams streams;

    @Override
    public InputStream getInputStream() throws IOException {
      return streams.input(super::getInputStream);
    }

    @Override
    public OutputStream getOutputStream() throws IOException {
      return streams.output(super::getOutputStream);
    }

    @Override
    public synchronized void close() throws IOException {
      try {
        super.close();
      } finally {
        if (streams != null) {
          streams.closed();
        }
      }
    }
  }
}
