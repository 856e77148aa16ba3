package dev.abortguard.micronaut;

import dev.abortguard.testing.DemoFixture;
import io.grpc.BindableService;
import io.grpc.ServerServiceDefinition;
import jakarta.inject.Singleton;

/** The shared demo service ({@link DemoFixture}) as the test application's service bean. */
@Singleton
public final class DemoService implements BindableService {
  public static final String SERVICE = DemoFixture.SERVICE;
  public static final String UNARY = DemoFixture.UNARY;
  public static final String BIDI = DemoFixture.BIDI;

  @Override
  public ServerServiceDefinition bindService() {
    return DemoFixture.service();
  }
}
