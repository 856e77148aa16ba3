package dev.abortguard.sample;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Locale;

/**
 * Ends a call at once, before the service sees it, when the client asks for it with metadata: the
 * way an authorisation or quota check aborts a call.
 *
 * <ul>
 *   <li>{@code x-demo-abort: <code>} closes the call with that {@link Status.Code} (its name, such
 *       as {@code PERMISSION_DENIED}; case does not matter) and the description {@value
 *       #DESCRIPTION}. A name that is not a status code closes it with {@code INVALID_ARGUMENT}
 *       instead, saying which value was bad. {@code OK} is accepted too: it ends the call early
 *       without a response, which a unary client reports as an error.
 *   <li>{@code x-demo-headers-first: true} sends response headers before the abort, as a server
 *       that sends headers eagerly would; with abortguard's {@code trailersOnly} on, the client
 *       still sees a trailers-only response. {@code false} is the default; any other value is an
 *       {@code INVALID_ARGUMENT}.
 * </ul>
 */
public final class DemoAbortInterceptor implements ServerInterceptor {
  /** Names the status code to abort with. */
  public static final Metadata.Key<String> ABORT =
      Metadata.Key.of("x-demo-abort", Metadata.ASCII_STRING_MARSHALLER);
  /** {@code true} sends response headers before aborting. */
  public static final Metadata.Key<String> HEADERS_FIRST =
      Metadata.Key.of("x-demo-headers-first", Metadata.ASCII_STRING_MARSHALLER);
  /** The description of every requested abort. */
  public static final String DESCRIPTION = "aborted by demo server";

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String requested = headers.get(ABORT);
    if (requested == null) {
      return next.startCall(call, headers);
    }
    Abort abort = Abort.parse(requested, headers.get(HEADERS_FIRST));
    if (abort.headersFirst) {
      call.sendHeaders(new Metadata());
    }
    call.close(abort.status, new Metadata());
    return new ServerCall.Listener<ReqT>() {};
  }

  /**
   * What a call's abort metadata asks for: the status to end it with and whether response headers
   * go first. Shared with the frame-codec transport, which reads the same headers.
   */
  static final class Abort {
    final Status status;
    final boolean headersFirst;

    private Abort(Status status, boolean headersFirst) {
      this.status = status;
      this.headersFirst = headersFirst;
    }

    /**
     * Reads an {@code x-demo-abort} value (not null) and an {@code x-demo-headers-first} value (or
     * null); a bad value of either asks for {@code INVALID_ARGUMENT}, without headers first,
     * describing what was wrong.
     */
    static Abort parse(String code, String headersFirst) {
      try {
        return new Abort(
            Status.fromCode(parseCode(code)).withDescription(DESCRIPTION), parseHeadersFirst(headersFirst));
      } catch (IllegalArgumentException e) {
        return new Abort(Status.INVALID_ARGUMENT.withDescription(e.getMessage()), false);
      }
    }
  }

  private static Status.Code parseCode(String name) {
    try {
      return Status.Code.valueOf(name.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          ABORT.name() + ": '" + name + "' is not a status code name such as PERMISSION_DENIED");
    }
  }

  private static boolean parseHeadersFirst(String value) {
    if (value == null) {
      return false;
    }
    switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "true":
        return true;
      case "false":
        return false;
      default:
        throw new IllegalArgumentException(
            HEADERS_FIRST.name() + ": '" + value + "' is neither true nor false");
    }
  }
}
