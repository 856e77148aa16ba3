package dev.abortguard.probe;

import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Everything one probe call saw: its frames with timestamps and read numbers, the status, and what
 * followed the end of the response.
 *
 * <p>The event loop writes it; the thread running the check waits on its latches and reads it once
 * the call is finished (a task on the event loop that happens after every write).
 */
final class CallRecord {
  private final int number;
  private final int streamId;
  private final long startNanos;
  private final List<FrameRecord> frames = new ArrayList<>();
  private final CountDownLatch responseEnded = new CountDownLatch(1);
  private final CountDownLatch resetOrGone = new CountDownLatch(1);

  private Integer httpStatus;
  private String contentType;
  private Integer grpcStatus;
  private String grpcMessage;
  private boolean headersSeen;
  private boolean trailersOnly;
  private long endNanos = -1;
  private long endRead = FrameRecord.NOT_READ;
  private Long resetCode;
  private long resetNanos = -1;
  private long resetRead = FrameRecord.NOT_READ;
  private String abandoned;

  CallRecord(int number, int streamId, long startNanos) {
    this.number = number;
    this.streamId = streamId;
    this.startNanos = startNanos;
  }

  // ---- written on the event loop

  void sent(String type, long nanos, boolean endStream, Long errorCode) {
    frames.add(FrameRecord.sent(type, nanos - startNanos, endStream, errorCode));
  }

  void sentData(int length, long nanos, boolean endStream) {
    frames.add(FrameRecord.sentData(nanos - startNanos, length, endStream));
  }

  void headersReceived(Http2Headers headers, boolean endStream, long nanos, long read) {
    CharSequence status = headers.status();
    Integer frameHttpStatus = status == null ? null : parseInt(status.toString());
    CharSequence grpc = headers.get("grpc-status");
    Integer frameGrpcStatus = grpc == null ? null : parseInt(grpc.toString());
    CharSequence message = headers.get("grpc-message");
    String frameGrpcMessage = message == null ? null : percentDecode(message.toString());
    frames.add(FrameRecord.receivedHeaders(nanos - startNanos, endStream, read, frameHttpStatus, frameGrpcStatus,
        frameGrpcMessage));
    if (!headersSeen) {
      headersSeen = true;
      httpStatus = frameHttpStatus;
      CharSequence type = headers.get("content-type");
      contentType = type == null ? null : type.toString();
      trailersOnly = endStream && grpc != null;
    }
    if (grpc != null) {
      grpcStatus = frameGrpcStatus;
      grpcMessage = frameGrpcMessage;
    }
    if (endStream) {
      ended(nanos, read);
    }
  }

  void dataReceived(int length, boolean endStream, long nanos, long read) {
    frames.add(FrameRecord.receivedData(nanos - startNanos, length, endStream, read));
    if (endStream) {
      ended(nanos, read);
    }
  }

  void windowUpdateReceived(long nanos, long read) {
    frames.add(FrameRecord.received("WINDOW_UPDATE", nanos - startNanos, false, null, read));
  }

  void resetReceived(long code, long nanos, long read) {
    frames.add(FrameRecord.received("RST_STREAM", nanos - startNanos, false, code, read));
    if (resetCode == null) {
      resetCode = code;
      resetNanos = nanos;
      resetRead = read;
    }
    responseEnded.countDown();
    resetOrGone.countDown();
  }

  /** The stream ended without END_STREAM or RST_STREAM from the peer: the connection closed, or GOAWAY refused it. */
  void abandon(String why) {
    if (abandoned == null && endNanos < 0 && resetCode == null) {
      abandoned = why;
    }
    responseEnded.countDown();
    resetOrGone.countDown();
  }

  private void ended(long nanos, long read) {
    if (endNanos < 0 && resetCode == null) {
      endNanos = nanos;
      endRead = read;
    }
    responseEnded.countDown();
  }

  // ---- waited on by the checking thread

  /** Waits until the response ended (END_STREAM), the stream was reset or abandoned; false on timeout. */
  boolean awaitResponseEnd(long timeoutMillis) throws InterruptedException {
    return responseEnded.await(timeoutMillis, TimeUnit.MILLISECONDS);
  }

  /** Waits until {@code deadlineNanos} ({@link System#nanoTime()}) for a reset or the end of the connection. */
  void awaitResetUntil(long deadlineNanos) throws InterruptedException {
    resetOrGone.await(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
  }

  // ---- read once the call is finished

  int number() {
    return number;
  }

  int streamId() {
    return streamId;
  }

  List<FrameRecord> frames() {
    return Collections.unmodifiableList(frames);
  }

  Integer httpStatus() {
    return httpStatus;
  }

  String contentType() {
    return contentType;
  }

  boolean headersSeen() {
    return headersSeen;
  }

  Integer grpcStatus() {
    return grpcStatus;
  }

  String grpcMessage() {
    return grpcMessage;
  }

  /** The first HEADERS frame carried the status and END_STREAM. */
  boolean trailersOnly() {
    return trailersOnly;
  }

  /** The response ended with END_STREAM before any reset. */
  boolean ended() {
    return endNanos >= 0;
  }

  /** A gRPC status reached the client: the response ended and carried {@code grpc-status}. */
  boolean hasStatus() {
    return ended() && grpcStatus != null;
  }

  /** When {@link #nanosToEnd() the response ended}: {@code System.nanoTime()}, or -1. */
  long endNanos() {
    return endNanos;
  }

  /** From the request to the end of the response, or -1. */
  long nanosToEnd() {
    return endNanos < 0 ? -1 : endNanos - startNanos;
  }

  /** The first RST_STREAM's error code, or null if none came. */
  Long resetCode() {
    return resetCode;
  }

  /** A RST_STREAM came after the response ended. */
  boolean resetAfterEnd() {
    return resetCode != null && ended();
  }

  /** From the end of the response to the reset, or -1 if there was no reset after an end. */
  long nanosEndToReset() {
    return resetAfterEnd() ? resetNanos - endNanos : -1;
  }

  /** The reset arrived in the same socket read as the end of the response. */
  boolean resetInSameRead() {
    return resetAfterEnd() && resetRead == endRead && endRead != FrameRecord.NOT_READ;
  }

  /** The response ended, the stream was reset or abandoned: the call did not go unanswered. */
  boolean answered() {
    return ended() || resetCode != null || abandoned != null;
  }

  /** Why the stream ended without an answer from the peer, or null. */
  String abandoned() {
    return abandoned;
  }

  /**
   * A C-core client may report CANCELLED instead of the status: a reset other than NO_ERROR
   * followed the end of the response, or the stream was reset before any status.
   */
  boolean statusLost() {
    return resetCode != null && (!ended() || resetCode != 0L);
  }

  private static Integer parseInt(String text) {
    try {
      return Integer.parseInt(text.trim());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** grpc-message is percent-encoded UTF-8 (gRPC over HTTP/2 spec). */
  private static String percentDecode(String text) {
    if (text.indexOf('%') < 0) {
      return text;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == '%' && i + 2 < bytes.length) {
        int hi = Character.digit(bytes[i + 1], 16);
        int lo = Character.digit(bytes[i + 2], 16);
        if (hi >= 0 && lo >= 0) {
          out.write(hi * 16 + lo);
          i += 2;
          continue;
        }
      }
      out.write(bytes[i]);
    }
    return new String(out.toByteArray(), StandardCharsets.UTF_8);
  }
}
