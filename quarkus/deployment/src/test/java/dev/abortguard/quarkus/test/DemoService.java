package dev.abortguard.quarkus.test;

import dev.abortguard.testing.DemoFixture;
import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.quarkus.grpc.GrpcService;

/** The shared demo service ({@link DemoFixture}), served by quarkus-grpc. */
@GrpcService
public class DemoService implements BindableService {
  public static final String SERVICE = DemoFixture.SERVICE;
  public static final String BIDI = DemoFixture.BIDI;
  public static final MethodDescriptor<byte[], byte[]> UNARY = DemoFixture.UNARY_METHOD;

  @Override
  public ServerServiceDefinition bindService() {
    return DemoFixture.service();
  }
}
