package dev.abortguard.okhttp;

import dev.abortguard.okhttp.OkHttpConnectionPort.QueuedReset;
import java.util.ArrayList;
import java.util.List;

/** Frames the guard adds to grpc-okhttp's outbound stream, taken together at one frame boundary. */
final class Injections {
  static final Injections NONE = new Injections(0, List.of());

  /** Bytes to give back to the peer's connection window (0: no WINDOW_UPDATE). */
  final int windowCredit;
  /** Streams to reset with NO_ERROR. */
  final List<QueuedReset> resets;

  Injections(int windowCredit, List<QueuedReset> resets) {
    this.windowCredit = windowCredit;
    this.resets = resets;
  }

  boolean isEmpty() {
    return windowCredit == 0 && resets.isEmpty();
  }

  /** These frames reached the socket ({@code written}) or failed with it. */
  void written(boolean written) {
    for (QueuedReset reset : resets) {
      reset.done.written(written);
    }
  }

  Injections plus(Injections more) {
    List<QueuedReset> all = new ArrayList<>(resets);
    all.addAll(more.resets);
    return new Injections(windowCredit + more.windowCredit, all);
  }
}
