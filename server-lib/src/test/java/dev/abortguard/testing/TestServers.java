package dev.abortguard.testing;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * A tiny gRPC service for wire tests, {@code test.Echo}, with {@code byte[]} messages, and Netty
 * server builders that serve it on {@code 127.0.0.1} and an ephemeral port.
 *
 * <ul>
 *   <li>{@code Unary} answers the request;
 *   <li>{@code ClientStream} answers the concatenation of all requests after the client
 *       half-closes;
 *   <li>{@code Bidi} echoes each request and completes when the client half-closes.
 * </ul>
 *
 * <p>A request header {@code x-test-abort: <Status.Code name>} makes an interceptor close the call
 * at once, before any headers or messages, with that status and the description {@value
 * #ABORT_DESCRIPTION}: grpc-java answers with a trailers-only response.
 *
 * <pre>{@code
 * Server server = TestServers.start(TestServers.configure(guard.forAddress(TestServers.LOOPBACK, credentials))
 *     .addService(TestServers.echoService()));
 * try (RawHttp2Client client = RawHttp2Client.connect("127.0.0.1", server.getPort())) { ... }
 * finally { TestServers.stop(server); }
 * }</pre>
 */
public final class TestServers {
  /** The service name. */
  public static final String SERVICE = "test.Echo";

  /** The request header that makes the call abort with the named status code. */
  public static final String ABORT_HEADER = "x-test-abort";

  /** The status description of an abort requested with {@link #ABORT_HEADER}. */
  public static final String ABORT_DESCRIPTION = "aborted by test";

  /** {@code test.Echo/Unary}: answers the request. */
  public static final MethodDescriptor<byte[], byte[]> UNARY = method("Unary", MethodType.UNARY);

  /** {@code test.Echo/ClientStream}: answers all requests concatenated, after the half-close. */
  public static final MethodDescriptor<byte[], byte[]> CLIENT_STREAM =
      method("ClientStream", MethodType.CLIENT_STREAMING);

  /** {@code test.Echo/Bidi}: echoes each request; completes after the half-close. */
  public static final MethodDescriptor<byte[], byte[]> BIDI =
      method("Bidi", MethodType.BIDI_STREAMING);

  /**
   * A bidi method that answers nothing and aborts with PERMISSION_DENIED when its first message
   * arrives: a call still open when the server sends GOAWAY, aborted after it.
   */
  public static final MethodDescriptor<byte[], byte[]> ABORT_ON_MESSAGE =
      method("AbortOnMessage", MethodType.BIDI_STREAMING);

  /** 127.0.0.1, an ephemeral port. */
  public static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 0);

  private static final Metadata.Key<String> ABORT_KEY =
      Metadata.Key.of(ABORT_HEADER, Metadata.ASCII_STRING_MARSHALLER);

  private TestServers() {}

  /** A marshaller that passes {@code byte[]} messages through unchanged. */
  public static MethodDescriptor.Marshaller<byte[]> bytesMarshaller() {
    return BytesMarshaller.INSTANCE;
  }

  /** The HTTP/2 {@code :path} of a method, e.g. {@code /test.Echo/Bidi}. */
  public static String path(MethodDescriptor<?, ?> method) {
    return "/" + method.getFullMethodName();
  }

  /** The {@code test.Echo} service, including the {@link #abortInterceptor() abort interceptor}. */
  public static ServerServiceDefinition echoService() {
    ServerServiceDefinition echo =
        ServerServiceDefinition.builder(SERVICE)
            .addMethod(UNARY, ServerCalls.asyncUnaryCall(TestServers::unary))
            .addMethod(
                CLIENT_STREAM, ServerCalls.asyncClientStreamingCall(TestServers::clientStream))
            .addMethod(BIDI, ServerCalls.asyncBidiStreamingCall(TestServers::echo))
            .addMethod(ABORT_ON_MESSAGE, ServerCalls.asyncBidiStreamingCall(TestServers::abortOnMessage))
            .build();
    return ServerInterceptors.intercept(echo, abortInterceptor());
  }

  /**
   * The interceptor that closes a call at once, with status {@code x-test-abort} and description
   * {@value #ABORT_DESCRIPTION}, when that request header is present.
   */
  public static ServerInterceptor abortInterceptor() {
    return AbortInterceptor.INSTANCE;
  }

  /** A stock plaintext builder on {@code 127.0.0.1}, ephemeral port, serving {@link #echoService()}. */
  public static NettyServerBuilder plaintextBuilder() {
    return configure(NettyServerBuilder.forAddress(LOOPBACK)).addService(echoService());
  }

  /** What every test server needs: {@code builder} answering {@link RawHttp2Client#sync()} PINGs. */
  public static NettyServerBuilder configure(NettyServerBuilder builder) {
    // RawHttp2Client.sync() is a PING round trip; grpc-java would answer more than two of them
    // within 5 minutes with GOAWAY(too_many_pings).
    return builder.permitKeepAliveTime(0, TimeUnit.NANOSECONDS);
  }

  /** Adds {@link #echoService()}. */
  public static NettyServerBuilder withEcho(NettyServerBuilder builder) {
    return builder.addService(echoService());
  }

  /** TLS server credentials from {@link TestTls}. */
  public static ServerCredentials tlsCredentials() {
    try (InputStream cert = TestTls.certificate();
        InputStream key = TestTls.privateKey()) {
      return TlsServerCredentials.create(cert, key);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the test TLS key pair", e);
    }
  }

  /** Like {@link #plaintextBuilder()}, with TLS from {@link TestTls}. */
  public static NettyServerBuilder tlsBuilder() {
    try (InputStream cert = TestTls.certificate();
        InputStream key = TestTls.privateKey()) {
      return plaintextBuilder().sslContext(GrpcSslContexts.forServer(cert, key).build());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot build the test server TLS context", e);
    }
  }

  /** Builds and starts a server; its port is {@link Server#getPort()}. */
  public static Server start(NettyServerBuilder builder) {
    try {
      return builder.build().start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the test server", e);
    }
  }

  /** Stops a server at once ({@code shutdownNow}) and waits up to 5 s for it to terminate. */
  public static void stop(Server server) {
    if (server == null) {
      return;
    }
    server.shutdownNow();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        throw new IllegalStateException("test server did not terminate within 5 s: " + server);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static MethodDescriptor<byte[], byte[]> method(String name, MethodType type) {
    return MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .setRequestMarshaller(bytesMarshaller())
        .setResponseMarshaller(bytesMarshaller())
        .build();
  }

  private static void unary(byte[] request, StreamObserver<byte[]> responses) {
    responses.onNext(request);
    responses.onCompleted();
  }

  private static StreamObserver<byte[]> clientStream(StreamObserver<byte[]> responses) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    return new StreamObserver<>() {
      @Override
      public void onNext(byte[] request) {
        all.writeBytes(request);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        responses.onNext(all.toByteArray());
        responses.onCompleted();
      }
    };
  }

  private static StreamObserver<byte[]> abortOnMessage(StreamObserver<byte[]> responses) {
    return new StreamObserver<>() {
      private boolean aborted;

      @Override
      public void onNext(byte[] request) {
        if (aborted) {
          return; // a message that crossed the abort
        }
        aborted = true;
        responses.onError(Status.PERMISSION_DENIED.withDescription(ABORT_DESCRIPTION).asRuntimeException());
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    };
  }

  /** An observer that echoes each request and completes when the client does. */
  public static StreamObserver<byte[]> echo(StreamObserver<byte[]> responses) {
    return new StreamObserver<>() {
      @Override
      public void onNext(byte[] request) {
        responses.onNext(request);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        responses.onCompleted();
      }
    };
  }

  /** Closes calls that carry {@link #ABORT_HEADER} before they reach the service. */
  private enum AbortInterceptor implements ServerInterceptor {
    INSTANCE;

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
        ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
      String code = headers.get(ABORT_KEY);
      if (code == null) {
        return next.startCall(call, headers);
      }
      call.close(
          Status.fromCode(Status.Code.valueOf(code)).withDescription(ABORT_DESCRIPTION),
          new Metadata());
      return new ServerCall.Listener<>() {};
    }
  }

  /** Passes {@code byte[]} through. */
  private enum BytesMarshaller implements MethodDescriptor.Marshaller<byte[]> {
    INSTANCE;

    @Override
    public InputStream stream(byte[] value) {
      return new DrainableBytes(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /**
   * Bytes as a {@link io.grpc.Drainable} of known length, as protobuf's streams are: vertx-grpc
   * 4.5's bridge (Quarkus's unified server) casts every response stream to {@code Drainable}.
   */
  private static final class DrainableBytes extends ByteArrayInputStream
      implements io.grpc.Drainable, io.grpc.KnownLength {
    DrainableBytes(byte[] bytes) {
      super(bytes);
    }

    @Override
    public int drainTo(java.io.OutputStream target) throws IOException {
      int n = available();
      target.write(buf, pos, n);
      pos = count;
      return n;
    }
  }
}
