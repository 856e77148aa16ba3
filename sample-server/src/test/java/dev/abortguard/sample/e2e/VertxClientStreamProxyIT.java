package dev.abortguard.sample.e2e;

/** {@link VertxProxyIT}'s matrix with client-streaming calls: the same claims, the other streaming shape. */
class VertxClientStreamProxyIT extends VertxProxyIT {
  @Override
  CoreClient.Shape shape() {
    return CoreClient.Shape.CLIENT_STREAM;
  }
}
