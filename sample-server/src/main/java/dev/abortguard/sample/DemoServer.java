package dev.abortguard.sample;

import java.net.InetSocketAddress;
import java.time.Duration;

/** The demo service, listening on one {@link Options.Transport transport}; owned by a {@link SampleServer}. */
interface DemoServer {
  /** Where it listens. */
  InetSocketAddress address();

  /**
   * Stops accepting connections and gives calls in flight up to {@code grace} to end, then ends
   * them; returns within about twice {@code grace}.
   */
  void shutdown(Duration grace);

  /** Stops at once, ending calls in flight; does not wait. */
  void shutdownNow();

  /** Waits at most {@code timeout} for the server to terminate; true if it has. */
  boolean awaitTermination(Duration timeout) throws InterruptedException;

  /** Waits for the server to terminate. */
  void awaitTermination() throws InterruptedException;
}
