package dev.abortguard.internal.grpc;

import dev.abortguard.internal.Internal;
import io.grpc.internal.GrpcUtil;

/**
 * The grpc-java releases the guard supports: from {@value #OLDEST}, the oldest the suite runs its
 * wire tests against (see docs/compatibility.md). Older releases fail at install time,
 * naming the version found, rather than misbehaving on the wire.
 */
@Internal
public final class GrpcVersion {
  static final String OLDEST = "1.64";
  private static final int OLDEST_MAJOR = 1;
  private static final int OLDEST_MINOR = 64;

  private GrpcVersion() {}

  /**
   * Fails if the grpc-java on the class path is older than {@value #OLDEST}.
   *
   * @throws IllegalStateException naming the version found and the oldest supported
   */
  public static void requireSupported() {
    String version;
    try {
      version = GrpcUtil.getGrpcBuildVersion().getImplementationVersion();
    } catch (LinkageError e) {
      version = null; // a grpc-core without the method is older than any supported one
    }
    require(version);
  }

  static void require(String version) {
    if (version == null || !isSupported(version)) {
      throw new IllegalStateException("abortguard supports grpc-java " + OLDEST + " and newer (tested: 1.64.2, "
          + "1.75.0, 1.85.1); this application has grpc-java " + (version == null ? "(unknown, older)" : version)
          + ". Upgrade io.grpc (the grpc-bom) to " + OLDEST + " or newer.");
    }
  }

  private static boolean isSupported(String version) {
    String[] parts = version.split("[.-]");
    try {
      int major = Integer.parseInt(parts[0]);
      int minor = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
      return major > OLDEST_MAJOR || (major == OLDEST_MAJOR && minor >= OLDEST_MINOR);
    } catch (NumberFormatException e) {
      return true; // a version string we cannot read: do not block on it
    }
  }
}
