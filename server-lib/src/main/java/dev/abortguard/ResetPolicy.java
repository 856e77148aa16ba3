package dev.abortguard;

import java.util.Locale;

/**
 * What the server does with a stream it has ended (sent END_STREAM) while the peer has not.
 *
 * <p>Selected with the {@code abortguard.reset} system property or {@link AbortGuard.Builder#reset}.
 */
public enum ResetPolicy {
  /**
   * Withhold any reset; forget the stream when the peer ends or resets it, and send
   * RST_STREAM(NO_ERROR) only if it is still open after the grace period. Safe behind old proxies.
   */
  DEFERRED,
  /** Never reset: the stream lives until the peer closes it or the connection ends (stock grpc-java). */
  NEVER,
  /** RST_STREAM(NO_ERROR) in the same flush as the trailers, as C-core and grpc-go servers do. */
  IMMEDIATE;

  /** The lower-case name used in properties, logs and metrics. */
  public String value() {
    return name().toLowerCase(Locale.ROOT);
  }

  static ResetPolicy parse(String property, String text) {
    for (ResetPolicy policy : values()) {
      if (policy.value().equals(text.trim().toLowerCase(Locale.ROOT))) {
        return policy;
      }
    }
    throw AbortGuardConfig.invalid(property, text, "one of deferred, never, immediate");
  }
}
