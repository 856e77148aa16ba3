package dev.abortguard.okhttp;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads the grpc-okhttp adapter needs besides grpc-okhttp's own: one timer thread for every
 * connection's grace timer (it never does I/O), and writers that put the guard's own frames on a
 * socket when grpc-okhttp has nothing to write. A socket write may block on a peer that does not
 * read, so writers are pooled and a connection never has more than one queued.
 */
final class OkHttpTimers {
  static final OkHttpTimers SHARED = new OkHttpTimers();

  private final ScheduledThreadPoolExecutor scheduler;
  private final ExecutorService writers;

  private OkHttpTimers() {
    scheduler = new ScheduledThreadPoolExecutor(1, daemon("abortguard-okhttp-timer"));
    scheduler.setRemoveOnCancelPolicy(true);
    writers = Executors.newCachedThreadPool(daemon("abortguard-okhttp-writer"));
  }

  ScheduledFuture<?> schedule(Runnable task, long delay, TimeUnit unit) {
    return scheduler.schedule(task, delay, unit);
  }

  void write(Runnable task) {
    writers.execute(task);
  }

  private static ThreadFactory daemon(String name) {
    AtomicInteger count = new AtomicInteger();
    return task -> {
      Thread thread = new Thread(task, name + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
