package dev.abortguard.probe;

/**
 * A small JSON writer for the probe's report: objects, arrays, strings, numbers, booleans and
 * null, indented by two spaces; {@link #beginInlineObject() inline objects} stay on one line.
 * Calls must nest properly; it does not check.
 */
final class JsonWriter {
  private final StringBuilder out = new StringBuilder();
  private int depth;
  private boolean first = true;
  private boolean afterName;
  /** Depth of the outermost open inline object, or 0: inside it nothing breaks the line. */
  private int inlineFrom;

  JsonWriter beginObject() {
    return open('{');
  }

  JsonWriter endObject() {
    return close('}');
  }

  /** An object written on one line, for short records in long arrays. */
  JsonWriter beginInlineObject() {
    open('{');
    if (inlineFrom == 0) {
      inlineFrom = depth;
    }
    return this;
  }

  JsonWriter endInlineObject() {
    close('}');
    if (depth < inlineFrom) {
      inlineFrom = 0;
    }
    return this;
  }

  JsonWriter beginArray() {
    return open('[');
  }

  JsonWriter endArray() {
    return close(']');
  }

  /** Starts a member of the current object; the next value call is its value. */
  JsonWriter name(String name) {
    separate();
    quote(name);
    out.append(": ");
    afterName = true;
    return this;
  }

  JsonWriter value(String value) {
    separate();
    if (value == null) {
      out.append("null");
    } else {
      quote(value);
    }
    return this;
  }

  JsonWriter value(Number value) {
    separate();
    out.append(value == null ? "null" : value.toString());
    return this;
  }

  JsonWriter value(Boolean value) {
    separate();
    out.append(value == null ? "null" : value.toString());
    return this;
  }

  /** The document written so far. */
  @Override
  public String toString() {
    return out.toString();
  }

  private JsonWriter open(char bracket) {
    separate();
    out.append(bracket);
    depth++;
    first = true;
    return this;
  }

  private JsonWriter close(char bracket) {
    depth--;
    if (!first && inlineFrom == 0) {
      newline();
    }
    out.append(bracket);
    first = false;
    return this;
  }

  private void separate() {
    if (afterName) {
      afterName = false;
      return;
    }
    if (!first) {
      out.append(',');
    }
    if (inlineFrom > 0) {
      if (!first) {
        out.append(' ');
      }
    } else if (depth > 0) {
      newline();
    }
    first = false;
  }

  private void newline() {
    out.append('\n');
    for (int i = 0; i < depth; i++) {
      out.append("  ");
    }
  }

  private void quote(String text) {
    out.append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        default:
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
      }
    }
    out.append('"');
  }
}
