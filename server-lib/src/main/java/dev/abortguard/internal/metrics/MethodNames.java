package dev.abortguard.internal.metrics;

import io.grpc.MethodDescriptor;

/** How both metric sinks name a call's service and method: the same values under each one's keys. */
final class MethodNames {
  private MethodNames() {}

  /** The service's full name, or empty for a method outside any service. */
  static String service(MethodDescriptor<?, ?> method) {
    String service = method.getServiceName();
    return service == null ? "" : service;
  }

  /** The method's bare name, or its full name when it has none. */
  static String method(MethodDescriptor<?, ?> method) {
    String bare = method.getBareMethodName();
    return bare == null ? method.getFullMethodName() : bare;
  }
}
