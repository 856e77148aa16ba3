package dev.abortguard.micronaut;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import jakarta.inject.Singleton;

/**
 * An auth-like {@link ServerInterceptor} bean: a call carrying {@code x-demo-abort: <status code
 * name>} is rejected at once, before the service sees it, as an auth check would; with {@code
 * x-demo-headers-first: true} it sends response headers first, as some interceptors do.
 */
@Singleton
public final class AuthInterceptor implements ServerInterceptor {
  public static final String ABORT = "x-demo-abort";
  public static final String HEADERS_FIRST = "x-demo-headers-first";
  public static final String DESCRIPTION = "rejected by the auth interceptor";
  private static final Metadata.Key<String> ABORT_KEY = Metadata.Key.of(ABORT, Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> HEADERS_FIRST_KEY =
      Metadata.Key.of(HEADERS_FIRST, Metadata.ASCII_STRING_MARSHALLER);

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
      ServerCallHandler<ReqT, RespT> next) {
    String code = headers.get(ABORT_KEY);
    if (code == null) {
      return next.startCall(call, headers);
    }
    if ("true".equals(headers.get(HEADERS_FIRST_KEY))) {
      call.sendHeaders(new Metadata());
    }
    call.close(Status.fromCode(Status.Code.valueOf(code)).withDescription(DESCRIPTION), new Metadata());
    return new ServerCall.Listener<>() {};
  }
}
