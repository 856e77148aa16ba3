package dev.abortguard.internal.quarkus.deployment;

import dev.abortguard.internal.Internal;
import dev.abortguard.internal.quarkus.SeparateServerSeam;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

/**
 * The {@code nettyBuilder.sslContext(ctx)} call in vertx-grpc's {@code VertxServer$ActualServer}
 * (the place vertx-grpc sets TLS on the separate server, after every public hook), and its
 * rewrite to {@link SeparateServerSeam#sslContext}: same stack, same result type.
 */
@Internal
final class SslContextCall {
  private SslContextCall() {}

  /** Rewrites every {@code NettyServerBuilder.sslContext(SslContext)} call in the visited class. */
  static final class Rewriter extends ClassVisitor {
    final AtomicInteger rewritten = new AtomicInteger();

    Rewriter(ClassVisitor next) {
      super(Opcodes.ASM9, next);
    }

    @Override
    public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
        String[] exceptions) {
      MethodVisitor next = super.visitMethod(access, name, descriptor, signature, exceptions);
      return new MethodVisitor(Opcodes.ASM9, next) {
        @Override
        public void visitMethodInsn(int opcode, String owner, String method, String desc, boolean itf) {
          if (isSslContextCall(opcode, owner, method, desc)) {
            rewritten.incrementAndGet();
            super.visitMethodInsn(Opcodes.INVOKESTATIC, SeparateServerSeam.HOOK_OWNER, SeparateServerSeam.SSL_CONTEXT,
                SeparateServerSeam.HOOK_DESCRIPTOR, false);
            return;
          }
          super.visitMethodInsn(opcode, owner, method, desc, itf);
        }
      };
    }
  }

  static boolean isSslContextCall(int opcode, String owner, String method, String descriptor) {
    return opcode == Opcodes.INVOKEVIRTUAL && SeparateServerSeam.NETTY_BUILDER.equals(owner)
        && SeparateServerSeam.SSL_CONTEXT.equals(method) && SeparateServerSeam.SSL_CONTEXT_DESCRIPTOR.equals(descriptor);
  }

  /**
   * Fails unless the class holds exactly one such call.
   *
   * @throws IllegalStateException naming the vertx-grpc version and the way out
   */
  static void requirePresent(ClassLoader loader) {
    String resource = SeparateServerSeam.REWRITTEN_CLASS.replace('.', '/') + ".class";
    int calls;
    try (InputStream in = loader.getResourceAsStream(resource)) {
      if (in == null) {
        throw missing(loader, "the class " + SeparateServerSeam.REWRITTEN_CLASS + " is absent");
      }
      Rewriter counter = new Rewriter(null);
      new ClassReader(in).accept(counter, ClassReader.SKIP_FRAMES);
      calls = counter.rewritten.get();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (calls != 1) {
      throw missing(loader, SeparateServerSeam.REWRITTEN_CLASS + " has " + calls
          + " calls to NettyServerBuilder.sslContext(SslContext), not 1");
    }
  }

  private static IllegalStateException missing(ClassLoader loader, String what) {
    return new IllegalStateException("abortguard-quarkus cannot keep the guard on TLS connections of quarkus-grpc's "
        + "separate server with this vertx-grpc (" + vertxGrpcVersion(loader) + "): " + what + ". It was written "
        + "for vertx-grpc 4.5 as Quarkus 3.33 brings it. Use the vertx-grpc version of the Quarkus BOM, or report it.");
  }

  private static String vertxGrpcVersion(ClassLoader loader) {
    try {
      Package p = loader.loadClass("io.vertx.grpc.VertxServer").getPackage();
      String version = p == null ? null : p.getImplementationVersion();
      return version == null ? "version unknown" : version;
    } catch (ClassNotFoundException | LinkageError e) {
      return "not found";
    }
  }
}
