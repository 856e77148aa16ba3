package dev.abortguard.probe;

import java.util.Locale;

/** What the reference server sends after the trailers of a call it rejected while the client still streams. */
enum Behaviour {
  /** C-core and grpc-go servers (and RFC 9113 §8.1): RST_STREAM(NO_ERROR) in the same flush as the trailers. */
  CCORE("ccore", "trailers, then RST_STREAM(NO_ERROR) in the same flush (C-core, grpc-go)"),
  /**
   * A stock Netty {@code Http2MultiplexHandler} server: closing the child channel after END_STREAM
   * writes RST_STREAM(CANCEL) in a flush of its own, a moment later.
   */
  NETTY("netty", "trailers, then RST_STREAM(CANCEL) in a separate flush (stock Netty multiplex server)"),
  /** grpc-java's Netty server: no reset; the stream stays open until the client ends or resets it. */
  GRPC_JAVA("grpc-java", "trailers and no reset (grpc-java)");

  private final String flagValue;
  private final String description;

  Behaviour(String flagValue, String description) {
    this.flagValue = flagValue;
    this.description = description;
  }

  /** How {@code --behaviour} names it. */
  String flagValue() {
    return flagValue;
  }

  /** What follows the trailers, and which servers do it. */
  String description() {
    return description;
  }

  static Behaviour parse(String text) throws UsageException {
    for (Behaviour behaviour : values()) {
      if (behaviour.flagValue.equals(text.trim().toLowerCase(Locale.ROOT))) {
        return behaviour;
      }
    }
    throw new UsageException("--behaviour: '" + text + "' is not one of ccore, netty, grpc-java");
  }
}
