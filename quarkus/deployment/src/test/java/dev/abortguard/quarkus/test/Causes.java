package dev.abortguard.quarkus.test;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Reads a start failure's cause chain. */
final class Causes {
  private Causes() {}

  static boolean anyMessageContains(Throwable e, String text) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getMessage() != null && t.getMessage().contains(text)) {
        return true;
      }
    }
    return false;
  }

  static String describe(Throwable e) {
    StringWriter out = new StringWriter();
    e.printStackTrace(new PrintWriter(out));
    return out.toString();
  }
}
