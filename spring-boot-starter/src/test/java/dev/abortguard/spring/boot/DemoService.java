package dev.abortguard.spring.boot;

import dev.abortguard.testing.DemoFixture;
import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;

/** The shared demo service ({@link DemoFixture}) as the test application's service bean. */
public final class DemoService implements BindableService {
  public static final String SERVICE = DemoFixture.SERVICE;
  public static final String UNARY = DemoFixture.UNARY;
  public static final String BIDI = DemoFixture.BIDI;
  public static final String CLIENT_STREAM = DemoFixture.CLIENT_STREAM;
  public static final MethodDescriptor<byte[], byte[]> UNARY_METHOD = DemoFixture.UNARY_METHOD;

  @Override
  public ServerServiceDefinition bindService() {
    return DemoFixture.service();
  }
}
