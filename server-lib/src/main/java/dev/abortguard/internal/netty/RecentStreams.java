package dev.abortguard.internal.netty;

/**
 * The newest few stream ids of a set, the eldest forgotten once it is full: a ring searched from
 * the newest end, without boxing. On one thread (the connection's event loop).
 */
final class RecentStreams {
  private final int[] ids;
  /** Where the next id goes. */
  private int next;
  private int size;

  RecentStreams(int capacity) {
    ids = new int[capacity];
  }

  void add(int streamId) {
    if (contains(streamId)) {
      return;
    }
    ids[next] = streamId;
    next = (next + 1) % ids.length;
    size = Math.min(size + 1, ids.length);
  }

  boolean contains(int streamId) {
    return indexOf(streamId) >= 0;
  }

  void remove(int streamId) {
    int at = indexOf(streamId);
    if (at >= 0) {
      ids[at] = 0; // stream 0 is never a stream's id: a hole the ring fills in time
    }
  }

  boolean isEmpty() {
    return size == 0;
  }

  private int indexOf(int streamId) {
    for (int k = 1; k <= size; k++) {
      int at = (next - k + ids.length) % ids.length;
      if (ids[at] == streamId) {
        return at;
      }
    }
    return -1;
  }
}
