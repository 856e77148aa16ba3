package dev.abortguard.probe;

/** A command line the probe cannot run: the message says what is wrong and how to write it instead. */
final class UsageException extends Exception {
  private static final long serialVersionUID = 1L;

  UsageException(String message) {
    super(message);
  }
}
