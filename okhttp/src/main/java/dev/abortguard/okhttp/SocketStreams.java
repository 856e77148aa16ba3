package dev.abortguard.okhttp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * One accepted connection's plaintext streams, seen through the guard: what a guarded socket
 * (plain or TLS) hands grpc-okhttp in place of its own streams. Each stream is wrapped once;
 * {@link #closed()} tells the connection's guard the socket is gone.
 */
final class SocketStreams {
  private final OkHttpConnectionGuard guard;
  private final OkHttpTimers timers;
  private InboundFrames input;
  private OutboundFrames output;

  SocketStreams(OkHttpConnectionGuard guard, OkHttpTimers timers) {
    this.guard = guard;
    this.timers = timers;
  }

  /** The socket's input as grpc-okhttp should read it; {@code raw} is read only the first time. */
  synchronized InputStream input(InputStreamSource raw) throws IOException {
    if (input == null) {
      input = new InboundFrames(raw.get(), guard);
    }
    return input;
  }

  /** The socket's output as grpc-okhttp should write it; {@code raw} is read only the first time. */
  synchronized OutputStream output(OutputStreamSource raw) throws IOException {
    if (output == null) {
      output = new OutboundFrames(raw.get(), guard, timers);
    }
    return output;
  }

  /** The socket closed. Idempotent. */
  void closed() {
    guard.closed();
  }

  /** The socket's own input stream. */
  interface InputStreamSource {
    InputStream get() throws IOException;
  }

  /** The socket's own output stream. */
  interface OutputStreamSource {
    OutputStream get() throws IOException;
  }
}
