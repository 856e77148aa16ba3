package dev.abortguard.internal.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.abortguard.ResetPolicy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Unit tests for {@link EarlyCloseTracker}. Time is a fake clock: every event passes explicit
 * nanos, starting at {@link #T0}. Resets and listener calls go to one {@link Recorder}, which
 * keeps them in the order the tracker made them.
 */
class EarlyCloseTrackerTest {
  /** The grace period, in nanos; small numbers keep the arithmetic in the assertions readable. */
  private static final long GRACE = 10_000;
  /** Where the fake clock starts; any value works, as the tracker only subtracts times. */
  private static final long T0 = 1_000_000;
  private static final int MAX = 3;

  private static final LingeringBudget BUDGET = new LingeringBudget(Integer.MAX_VALUE);

  private Recorder recorder;

  @BeforeEach
  void setUp() {
    recorder = new Recorder();
  }

  private TrackerHarness tracker(ResetPolicy policy) {
    return tracker(policy, MAX);
  }

  private TrackerHarness tracker(ResetPolicy policy, int maxLingering) {
    TrackerHarness tracker = new TrackerHarness(
        new EarlyCloseTracker(policy, GRACE, maxLingering, new LingeringBudget(Integer.MAX_VALUE)), recorder);
    recorder.tracker = tracker;
    return tracker;
  }

  @Nested
  @DisplayName("constructor")
  class Construction {
    @Test
    void rejectsGraceThatIsNotPositive() {
      assertThrows(IllegalArgumentException.class,
          () -> new EarlyCloseTracker(ResetPolicy.DEFERRED, 0, MAX, BUDGET));
      assertThrows(IllegalArgumentException.class,
          () -> new EarlyCloseTracker(ResetPolicy.DEFERRED, -1, MAX, BUDGET));
      assertThrows(IllegalArgumentException.class,
          () -> new EarlyCloseTracker(ResetPolicy.DEFERRED, Long.MIN_VALUE, MAX, BUDGET));
    }

    @Test
    void rejectsMaxLingeringBelowOne() {
      assertThrows(IllegalArgumentException.class,
          () -> new EarlyCloseTracker(ResetPolicy.DEFERRED, GRACE, 0, BUDGET));
      assertThrows(IllegalArgumentException.class,
          () -> new EarlyCloseTracker(ResetPolicy.DEFERRED, GRACE, -1, BUDGET));
      assertThrows(IllegalArgumentException.class,
          () -> new EarlyCloseTracker(ResetPolicy.DEFERRED, GRACE, Integer.MIN_VALUE, BUDGET));
    }

    @Test
    void rejectsNulls() {
      assertThrows(NullPointerException.class,
          () -> new EarlyCloseTracker(null, GRACE, MAX, BUDGET));
      assertThrows(NullPointerException.class,
          () -> new EarlyCloseTracker(ResetPolicy.DEFERRED, GRACE, MAX, null));
    }

    @Test
    void acceptsTheSmallestValidArguments() {
      EarlyCloseTracker tracker =
          new EarlyCloseTracker(ResetPolicy.DEFERRED, 1, 1, new LingeringBudget(1));
      assertEquals(0, tracker.lingeringCount());
    }

    @ParameterizedTest
    @EnumSource(ResetPolicy.class)
    void startsEmpty(ResetPolicy policy) {
      TrackerHarness tracker = tracker(policy);

      assertEquals(0, tracker.lingeringCount());
      assertFalse(tracker.isLingering(1));
      assertEquals(EarlyCloseTracker.NO_DEADLINE, tracker.nanosUntilNextDeadline(T0));
      assertEquals(List.of(), recorder.events);
    }
  }

  /** What DEFERRED and NEVER share: both keep early-closed streams until something releases them. */
  @Nested
  @DisplayName("DEFERRED and NEVER")
  class Lingering {
    @ParameterizedTest
    @EnumSource(names = {"DEFERRED", "NEVER"})
    void serverEndedMakesTheStreamLinger(ResetPolicy policy) {
      TrackerHarness tracker = tracker(policy);

      tracker.serverEnded(1, T0);
      tracker.serverEnded(3, T0 + 10);

      assertEquals(2, tracker.lingeringCount());
      assertTrue(tracker.isLingering(1));
      assertTrue(tracker.isLingering(3));
      assertFalse(tracker.isLingering(5));
      assertEquals(List.of("lingering", "lingering"), recorder.events);
    }

    @ParameterizedTest
    @EnumSource(names = {"DEFERRED", "NEVER"})
    void peerEndStreamReleasesWithoutReset(ResetPolicy policy) {
      TrackerHarness tracker = tracker(policy);
      tracker.serverEnded(1, T0);
      tracker.serverEnded(3, T0 + 100);

      tracker.peerEnded(1, T0 + 300);

      assertEquals(List.of("lingering", "lingering", "released peer_end_stream after 300"), recorder.events);
      assertFalse(tracker.isLingering(1));
      assertTrue(tracker.isLingering(3), "other streams keep lingering");
      assertEquals(1, tracker.lingeringCount());
      assertEquals(List.of(), recorder.resets);
    }

    @ParameterizedTest
    @EnumSource(value = ReleaseCause.class, names = {"PEER_END_STREAM", "PEER_RESET", "SERVER_RESET"})
    void closedWithACauseReleasesAsThatCause(ReleaseCause cause) {
      TrackerHarness tracker = tracker(ResetPolicy.DEFERRED);
      tracker.serverEnded(7, T0);

      tracker.closed(7, cause, T0 + 5);

      assertEquals(List.of("lingering", "released " + cause.tagValue() + " after 5"), recorder.events);
      assertEquals(0, tracker.lingeringCount());
      assertEquals(List.of(), recorder.resets);
    }

    @ParameterizedTest
    @EnumSource(value = ReleaseCause.class, names = {"PEER_END_STREAM", "PEER_RESET", "SERVER_RESET"},
        mode = EnumSource.Mode.EXCLUDE)
    void closedRefusesCausesOnlyTheTrackerDecides(ReleaseCause cause) {
      TrackerHarness tracker = tracker(ResetPolicy.DEFERRED);
      tracker.serverEnded(7, T0);

      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tracker.closed(7, cause, T0 + 5));

      assertTrue(e.getMessage().contains(cause.name()), e.getMessage());
      assertEquals(1, tracker.lingeringCount(), "nothing released");
    }

    @ParameterizedTest
    @EnumSource(names = {"DEFERRED", "NEVER"})
    void peerResetReleasesWithoutReset(ResetPolicy policy) {
      TrackerHarness tracker = tracker(policy);
      tracker.serverEnded(5, T0);

      tracker.peerReset(5, T0 + 42);

      assertEquals(List.of("lingering", "released peer_reset after 42"), recorder.events);
      assertEquals(0, tracker.lingeringCount());
      assertEquals(List.of(), recorder.resets);
    }

    @ParameterizedTest
    @EnumSource(names = {"DEFERRED", "NEVER"})
    void duplicateServerEndedIsIgnored(ResetPolicy policy) {
      TrackerHarness tracker = tracker(policy);
      tracker.serverEnded(1, T0);

      tracker.serverEnded(1, T0 + 500);

      assertEquals(1, tracker.lingeringCount());
      assertEquals(1, recorder.lingeringCalls, "onLingering once per stream");
      tracker.peerEnded(1, T0 + 1_000);
      assertEquals(List.of(new Released(ReleaseCause.PEER_END_STREAM, 1_000)), recorder.releases,
          "lingering is measured from the first serverEnded");
    }

    @ParameterizedTest
    @EnumSource(names = {"DEFERRED", "NEVER"})
    void aStreamIsReleasedOnlyOnce(ResetPolicy policy) {
      TrackerHarness tracker = tracker(policy);
      tracker.serverEnded(1, T0);
      tracker.peerEnded(1, T0 + 10);

      tracker.peerEnded(1, T0 + 20);
      tracker.peerReset(1, T0 + 30);

      assertEquals(List.of(new Released(ReleaseCause.PEER_END_STREAM, 10)), recorder.releases);
    }

    @ParameterizedTest
    @EnumSource(names = {"DEFERRED", "NEVER"})
    void connectionClosedReleasesEveryStreamWithoutResets(ResetPolicy policy) {
      TrackerHarness tracker = tracker(policy);
      tracker.serverEnded(1, T0);
      tracker.serverEnded(3, T0 + 100);
      tracker.serverEnded(5, T0 + 200);

      tracker.connectionClosed(T0 + 1_000);

      assertEquals(
          List.of(
              new Released(ReleaseCause.CONNECTION_CLOSED, 1_000),
              new Released(ReleaseCause.CONNECTION_CLOSED, 900),
              new Released(ReleaseCause.CONNECTION_CLOSED, 800)),
          recorder.releases);
      assertEquals(List.of(), recorder.resets);
      assertEquals(0, tracker.lingeringCount());
      assertFalse(tracker.isLingering(1));
      assertEquals(EarlyCloseTracker.NO_DEADLINE, tracker.nanosUntilNextDeadline(T0 + 1_000));
    }
  }

  /** What holds under every policy. */
  @Nested
  @DisplayName("every policy")
  class EveryPolicy {
    @ParameterizedTest
    @EnumSource(ResetPolicy.class)
    void eventsForUnknownStreamsAreIgnored(ResetPolicy policy) {
      TrackerHarness tracker = tracker(policy);

      tracker.peerEnded(7, T0);
      tracker.peerReset(9, T0);
      tracker.expire(T0 + 100 * GRACE);

      assertEquals(List.of(), recorder.events);
      assertEquals(0, tracker.lingeringCount());
    }

    @ParameterizedTest
    @EnumSource(ResetPolicy.class)
    void peerEventsForOtherStreamsLeaveLingeringStreamsAlone(ResetPolicy policy) {
      TrackerHarness tracker = tracker(policy);
      tracker.serverEnded(1, T0);
      int countBefore = tracker.lingeringCount();
      List<String> eventsBefore = List.copyOf(recorder.events);

      tracker.peerEnded(3, T0 + 1);
      tracker.peerReset(5, T0 + 2);

      assertEquals(countBefore, tracker.lingeringCount());
      assertEquals(eventsBefore, recorder.events);
    }

    @ParameterizedTest
    @EnumSource(ResetPolicy.class)
    void afterConnectionClosedEveryEventIsIgnored(ResetPolicy policy) {
      TrackerHarness tracker = tracker(policy);
      tracker.connectionClosed(T0);

      tracker.serverEnded(1, T0 + 1);
      tracker.serverEnded(3, T0 + 2);
      tracker.peerEnded(1, T0 + 3);
      tracker.peerReset(3, T0 + 4);
      tracker.expire(T0 + 100 * GRACE);
      tracker.goAwaySent(T0 + 100 * GRACE);
      tracker.serverEnded(5, T0 + 100 * GRACE);

      assertEquals(List.of(), recorder.events, "no onLingering, no release, no reset");
      assertEquals(0, tracker.lingeringCount());
      assertFalse(tracker.isLingering(1));
      assertEquals(EarlyCloseTracker.NO_DEADLINE, tracker.nanosUntilNextDeadline(T0 + 5));
    }

    @ParameterizedTest
    @EnumSource(ResetPolicy.class)
    void connectionClosedOnAnEmptyTrackerReleasesNothing(ResetPolicy policy) {
      TrackerHarness tracker = tracker(policy);

      tracker.connectionClosed(T0);
      tracker.connectionClosed(T0 + 1);

      assertEquals(List.of(), recorder.events);
    }

    @ParameterizedTest
    @EnumSource(ResetPolicy.class)
    void theListenerBalancesTheLingeringCount(ResetPolicy policy) {
      // onLingering minus onReleased is what the lingering gauge shows; it must track the tracker.
      TrackerHarness tracker = tracker(policy, 2);
      tracker.serverEnded(1, T0);
      tracker.serverEnded(3, T0 + 1);
      tracker.serverEnded(5, T0 + 2);
      tracker.serverEnded(7, T0 + 3);
      assertEquals(tracker.lingeringCount(), recorder.lingeringNow());
      tracker.peerEnded(5, T0 + 4);
      assertEquals(tracker.lingeringCount(), recorder.lingeringNow());
      tracker.expire(T0 + GRACE + 1);
      assertEquals(tracker.lingeringCount(), recorder.lingeringNow());
      tracker.goAwaySent(T0 + GRACE + 2);
      tracker.serverEnded(9, T0 + GRACE + 3);
      assertEquals(tracker.lingeringCount(), recorder.lingeringNow());
      tracker.connectionClosed(T0 + GRACE + 4);
      assertEquals(0, tracker.lingeringCount());
      assertEquals(0, recorder.lingeringNow());
    }

    @ParameterizedTest
    @EnumSource(ResetPolicy.class)
    void onlyCausesThatResetAreFollowedByAReset(ResetPolicy policy) {
      TrackerHarness tracker = tracker(policy, 2);
      tracker.serverEnded(1, T0);
      tracker.serverEnded(3, T0);
      tracker.serverEnded(5, T0);
      tracker.peerReset(3, T0 + 1);
      tracker.expire(T0 + GRACE);
      tracker.serverEnded(7, T0 + GRACE);
      tracker.goAwaySent(T0 + GRACE);
      tracker.serverEnded(9, T0 + GRACE);
      tracker.connectionClosed(T0 + GRACE);

      long resetsAsked = recorder.releases.stream().filter(r -> r.cause().resetsStream()).count();
      assertEquals(resetsAsked, recorder.resets.size());
    }
  }

  @Nested
  @DisplayName("DEFERRED")
  class Deferred {
    private TrackerHarness tracker;

    @BeforeEach
    void setUp() {
      tracker = tracker(ResetPolicy.DEFERRED);
    }

    @Test
    void expireBeforeTheGraceDoesNothing() {
      tracker.serverEnded(1, T0);

      tracker.expire(T0);
      tracker.expire(T0 + GRACE - 1);

      assertTrue(tracker.isLingering(1));
      assertEquals(List.of("lingering"), recorder.events);
    }

    @Test
    void expireAtTheGraceResetsWithGraceExpired() {
      tracker.serverEnded(1, T0);

      tracker.expire(T0 + GRACE);

      assertEquals(List.of("lingering", "released grace_expired after " + GRACE, "reset 1"), recorder.events);
      assertFalse(tracker.isLingering(1));
      assertEquals(0, tracker.lingeringCount());
      assertEquals(EarlyCloseTracker.NO_DEADLINE, tracker.nanosUntilNextDeadline(T0 + GRACE));
    }

    @Test
    void expireAfterTheGraceResetsOnlyOverdueStreamsOldestFirst() {
      tracker.serverEnded(1, T0);
      tracker.serverEnded(3, T0 + 100);
      tracker.serverEnded(5, T0 + 5_000);

      tracker.expire(T0 + GRACE + 500);

      assertEquals(
          List.of(
              new Released(ReleaseCause.GRACE_EXPIRED, GRACE + 500),
              new Released(ReleaseCause.GRACE_EXPIRED, GRACE + 400)),
          recorder.releases);
      assertEquals(List.of(1, 3), recorder.resets);
      assertTrue(tracker.isLingering(5), "stream 5 is 4_500 ns short of its grace");
      assertEquals(4_500, tracker.nanosUntilNextDeadline(T0 + GRACE + 500));
    }

    @Test
    void expireIsIdempotent() {
      tracker.serverEnded(1, T0);
      tracker.expire(T0 + GRACE);

      tracker.expire(T0 + GRACE);
      tracker.expire(T0 + 2 * GRACE);

      assertEquals(List.of(1), recorder.resets);
    }

    @Test
    void peerEndBeforeTheGraceMeansNoResetLater() {
      tracker.serverEnded(1, T0);
      tracker.peerEnded(1, T0 + 50);

      tracker.expire(T0 + 10 * GRACE);

      assertEquals(List.of(new Released(ReleaseCause.PEER_END_STREAM, 50)), recorder.releases);
      assertEquals(List.of(), recorder.resets);
    }

    @Test
    void nanosUntilNextDeadlineIsNoDeadlineWhenNothingLingers() {
      assertEquals(EarlyCloseTracker.NO_DEADLINE, tracker.nanosUntilNextDeadline(T0));
    }

    @Test
    void nanosUntilNextDeadlineIsTheEldestStreamsRemainingTime() {
      tracker.serverEnded(1, T0);
      assertEquals(GRACE, tracker.nanosUntilNextDeadline(T0));
      assertEquals(GRACE - 2_000, tracker.nanosUntilNextDeadline(T0 + 2_000));

      tracker.serverEnded(3, T0 + 3_000);

      assertEquals(GRACE - 3_000, tracker.nanosUntilNextDeadline(T0 + 3_000), "a younger stream changes nothing");
      assertEquals(1, tracker.nanosUntilNextDeadline(T0 + GRACE - 1));
    }

    @Test
    void nanosUntilNextDeadlineIsZeroWhenOverdue() {
      tracker.serverEnded(1, T0);

      assertEquals(0, tracker.nanosUntilNextDeadline(T0 + GRACE));
      assertEquals(0, tracker.nanosUntilNextDeadline(T0 + GRACE + 1));
      assertEquals(0, tracker.nanosUntilNextDeadline(T0 + 1_000 * GRACE));
    }

    @Test
    void nanosUntilNextDeadlineFollowsTheNextEldestOnceThePeerReleasesTheEldest() {
      tracker.serverEnded(1, T0);
      tracker.serverEnded(3, T0 + 4_000);
      tracker.serverEnded(5, T0 + 6_000);

      tracker.peerEnded(1, T0 + 7_000);
      assertEquals(GRACE + 4_000 - 7_000, tracker.nanosUntilNextDeadline(T0 + 7_000));

      tracker.peerReset(3, T0 + 8_000);
      assertEquals(GRACE + 6_000 - 8_000, tracker.nanosUntilNextDeadline(T0 + 8_000));

      tracker.peerEnded(5, T0 + 9_000);
      assertEquals(EarlyCloseTracker.NO_DEADLINE, tracker.nanosUntilNextDeadline(T0 + 9_000));
    }

    @Test
    void releasingAMiddleStreamKeepsTheEldestsDeadline() {
      tracker.serverEnded(1, T0);
      tracker.serverEnded(3, T0 + 4_000);

      tracker.peerEnded(3, T0 + 5_000);

      assertEquals(GRACE - 5_000, tracker.nanosUntilNextDeadline(T0 + 5_000));
    }

    @Test
    void aTimerThatFiresForAStreamThePeerReleasedResetsNothing() {
      // The connection's single timer was armed for stream 1; the peer closed it in the meantime.
      tracker.serverEnded(1, T0);
      tracker.serverEnded(3, T0 + 4_000);
      tracker.peerEnded(1, T0 + 1_000);

      tracker.expire(T0 + GRACE);

      assertEquals(List.of(), recorder.resets);
      assertTrue(tracker.isLingering(3));
      assertEquals(4_000, tracker.nanosUntilNextDeadline(T0 + GRACE), "re-arm for stream 3");
    }

    @Test
    void overflowEvictsTheOldestWithOverflowAndReset() {
      tracker.serverEnded(1, T0);
      tracker.serverEnded(3, T0 + 10);
      tracker.serverEnded(5, T0 + 20);
      assertEquals(List.of(), recorder.resets, "at the cap nothing is evicted");

      tracker.serverEnded(7, T0 + 30);

      assertEquals(List.of(new Released(ReleaseCause.OVERFLOW, 30)), recorder.releases);
      assertEquals(List.of(1), recorder.resets);
      assertEquals(MAX, tracker.lingeringCount());
      assertFalse(tracker.isLingering(1));
      assertTrue(tracker.isLingering(3));
      assertTrue(tracker.isLingering(5));
      assertTrue(tracker.isLingering(7));
      assertEquals(GRACE - 20, tracker.nanosUntilNextDeadline(T0 + 30), "stream 3 is now the eldest");
    }

    @Test
    void eachOverflowEvictsTheNextOldest() {
      tracker.serverEnded(1, T0);
      tracker.serverEnded(3, T0 + 10);
      tracker.serverEnded(5, T0 + 20);
      tracker.peerEnded(3, T0 + 25);
      tracker.serverEnded(7, T0 + 30);
      assertEquals(List.of(), recorder.resets, "the peer made room");

      tracker.serverEnded(9, T0 + 40);
      tracker.serverEnded(11, T0 + 50);

      assertEquals(List.of(1, 5), recorder.resets);
      assertEquals(
          List.of(
              new Released(ReleaseCause.PEER_END_STREAM, 15),
              new Released(ReleaseCause.OVERFLOW, 40),
              new Released(ReleaseCause.OVERFLOW, 30)),
          recorder.releases);
      assertEquals(MAX, tracker.lingeringCount());
    }

    @Test
    void overflowWithACapOfOneKeepsOnlyTheNewest() {
      TrackerHarness tracker = tracker(ResetPolicy.DEFERRED, 1);
      tracker.serverEnded(1, T0);

      tracker.serverEnded(3, T0 + 5);

      assertEquals(List.of(1), recorder.resets);
      assertTrue(tracker.isLingering(3));
      assertEquals(1, tracker.lingeringCount());
    }

    @Test
    void goAwayResetsEveryLingeringStreamWithShutdown() {
      tracker.serverEnded(1, T0);
      tracker.serverEnded(3, T0 + 100);

      tracker.goAwaySent(T0 + 1_000);

      assertEquals(
          List.of(
              "lingering", "lingering",
              "released shutdown after 1000", "reset 1",
              "released shutdown after 900", "reset 3"),
          recorder.events);
      assertEquals(0, tracker.lingeringCount());
      assertEquals(EarlyCloseTracker.NO_DEADLINE, tracker.nanosUntilNextDeadline(T0 + 1_000));
    }

    @Test
    void afterGoAwayServerEndedResetsAtOnceWithShutdown() {
      tracker.goAwaySent(T0);

      tracker.serverEnded(1, T0 + 100);

      assertEquals(List.of("lingering", "released shutdown after 0", "reset 1"), recorder.events);
      assertEquals(0, tracker.lingeringCount());
      assertEquals(EarlyCloseTracker.NO_DEADLINE, tracker.nanosUntilNextDeadline(T0 + 100));
    }

    @Test
    void connectionClosedAfterGoAwayReleasesNothingMore() {
      tracker.serverEnded(1, T0);
      tracker.goAwaySent(T0 + 1);

      tracker.connectionClosed(T0 + 2);

      assertEquals(List.of(new Released(ReleaseCause.SHUTDOWN, 1)), recorder.releases);
    }

    @Test
    void connectionClosedCancelsPendingDeadlines() {
      tracker.serverEnded(1, T0);
      tracker.connectionClosed(T0 + 1);

      tracker.expire(T0 + GRACE);

      assertEquals(List.of(), recorder.resets);
      assertEquals(List.of(new Released(ReleaseCause.CONNECTION_CLOSED, 1)), recorder.releases);
    }

    @Test
    void theResetterIsCalledAfterTheTrackerForgotTheStream() {
      tracker.serverEnded(1, T0);
      tracker.serverEnded(3, T0);
      tracker.serverEnded(5, T0);
      tracker.serverEnded(7, T0); // overflow: 1
      tracker.expire(T0 + GRACE); // 3, 5, 7
      tracker.goAwaySent(T0 + GRACE);
      tracker.serverEnded(9, T0 + GRACE); // shutdown: 9

      assertEquals(List.of(1, 3, 5, 7, 9), recorder.resets);
      assertEquals(List.of(), recorder.resetsOfStillLingeringStreams);
    }

    @Test
    void worksAcrossTheWrapOfNanoTime() {
      // System.nanoTime() may start anywhere and overflow; only differences count.
      long start = Long.MAX_VALUE - GRACE / 2;
      tracker.serverEnded(1, start);

      assertEquals(GRACE, tracker.nanosUntilNextDeadline(start));
      assertEquals(1, tracker.nanosUntilNextDeadline(start + GRACE - 1)); // wrapped past MAX_VALUE
      tracker.expire(start + GRACE - 1);
      assertTrue(tracker.isLingering(1));

      tracker.expire(start + GRACE);

      assertEquals(List.of(new Released(ReleaseCause.GRACE_EXPIRED, GRACE)), recorder.releases);
    }
  }

  @Nested
  @DisplayName("NEVER")
  class Never {
    private TrackerHarness tracker;

    @BeforeEach
    void setUp() {
      tracker = tracker(ResetPolicy.NEVER);
    }

    @Test
    void expireNeverResetsEvenLongAfterTheGrace() {
      tracker.serverEnded(1, T0);

      tracker.expire(T0 + GRACE);
      tracker.expire(T0 + 1_000_000 * GRACE);

      assertTrue(tracker.isLingering(1));
      assertEquals(List.of("lingering"), recorder.events);
    }

    @Test
    void nanosUntilNextDeadlineIsAlwaysNoDeadline() {
      tracker.serverEnded(1, T0);

      assertEquals(EarlyCloseTracker.NO_DEADLINE, tracker.nanosUntilNextDeadline(T0));
      assertEquals(EarlyCloseTracker.NO_DEADLINE, tracker.nanosUntilNextDeadline(T0 + 10 * GRACE));
    }

    @Test
    void thereIsNoOverflow() {
      for (int i = 0; i < 10 * MAX; i++) {
        tracker.serverEnded(2 * i + 1, T0 + i);
      }

      assertEquals(10 * MAX, tracker.lingeringCount());
      assertEquals(List.of(), recorder.releases);
      assertEquals(List.of(), recorder.resets);
    }

    @Test
    void goAwayResetsNothing() {
      tracker.serverEnded(1, T0);

      tracker.goAwaySent(T0 + 1);
      tracker.serverEnded(3, T0 + 2);

      assertTrue(tracker.isLingering(1));
      assertTrue(tracker.isLingering(3), "a stream ended after GOAWAY lingers too");
      assertEquals(List.of("lingering", "lingering"), recorder.events);

      tracker.peerEnded(1, T0 + 10);
      tracker.connectionClosed(T0 + 20);
      assertEquals(
          List.of(new Released(ReleaseCause.PEER_END_STREAM, 10), new Released(ReleaseCause.CONNECTION_CLOSED, 18)),
          recorder.releases);
      assertEquals(List.of(), recorder.resets);
    }
  }

  @Nested
  @DisplayName("IMMEDIATE")
  class Immediate {
    private TrackerHarness tracker;

    @BeforeEach
    void setUp() {
      tracker = tracker(ResetPolicy.IMMEDIATE);
    }

    @Test
    void serverEndedResetsAtOnceWithImmediate() {
      tracker.serverEnded(1, T0);

      assertEquals(List.of("lingering", "released immediate after 0", "reset 1"), recorder.events);
      assertFalse(tracker.isLingering(1));
      assertEquals(0, tracker.lingeringCount());
      assertEquals(EarlyCloseTracker.NO_DEADLINE, tracker.nanosUntilNextDeadline(T0));
    }

    @Test
    void laterPeerEventsFindNothing() {
      tracker.serverEnded(1, T0);

      tracker.peerEnded(1, T0 + 5);
      tracker.peerReset(1, T0 + 6);

      assertEquals(List.of(new Released(ReleaseCause.IMMEDIATE, 0)), recorder.releases);
    }

    @Test
    void expireAndOverflowNeverApply() {
      for (int i = 0; i < 10 * MAX; i++) {
        tracker.serverEnded(2 * i + 1, T0 + i);
      }
      tracker.expire(T0 + 10 * GRACE);

      assertEquals(10 * MAX, recorder.resets.size());
      assertTrue(recorder.releases.stream().allMatch(r -> r.equals(new Released(ReleaseCause.IMMEDIATE, 0))));
      assertEquals(EarlyCloseTracker.NO_DEADLINE, tracker.nanosUntilNextDeadline(T0 + 10 * GRACE));
    }

    @Test
    void afterGoAwayTheCauseStaysImmediate() {
      tracker.goAwaySent(T0);

      tracker.serverEnded(1, T0 + 1);

      assertEquals(List.of(new Released(ReleaseCause.IMMEDIATE, 0)), recorder.releases);
      assertEquals(List.of(1), recorder.resets);
    }
  }

  @Nested
  @DisplayName("at scale")
  class Scale {
    @ParameterizedTest
    @EnumSource(names = {"DEFERRED", "NEVER"})
    void hundredThousandStreamsReleasedByThePeerInRandomOrder(ResetPolicy policy) {
      int streams = 100_000;
      recorder.keepEventLog = false;
      TrackerHarness tracker =
          new TrackerHarness(new EarlyCloseTracker(policy, Long.MAX_VALUE / 4, streams, BUDGET), recorder);
      List<Integer> ids = new ArrayList<>(streams);
      for (int i = 0; i < streams; i++) {
        int id = 2 * i + 1; // client-initiated ids
        ids.add(id);
        tracker.serverEnded(id, T0 + i);
      }
      assertEquals(streams, tracker.lingeringCount());
      assertEquals(streams, recorder.lingeringCalls);

      Random random = new Random(20240611);
      Collections.shuffle(ids, random);
      long now = T0 + streams;
      long expectedLingered = 0;
      int peerEnds = 0;
      for (int i = 0; i < ids.size(); i++) {
        int id = ids.get(i);
        now += 1;
        expectedLingered += now - (T0 + (id - 1) / 2);
        if (random.nextBoolean()) {
          tracker.peerEnded(id, now);
          peerEnds++;
        } else {
          tracker.peerReset(id, now);
        }
        if (i == streams / 2) {
          assertEquals(streams - i - 1, tracker.lingeringCount());
        }
      }

      assertEquals(0, tracker.lingeringCount());
      assertEquals(0, recorder.lingeringNow());
      assertEquals(peerEnds, recorder.releasedBy(ReleaseCause.PEER_END_STREAM));
      assertEquals(streams - peerEnds, recorder.releasedBy(ReleaseCause.PEER_RESET));
      assertEquals(streams, recorder.releasedCalls);
      assertEquals(expectedLingered, recorder.totalLingeredNanos);
      assertEquals(List.of(), recorder.resets);
      assertEquals(EarlyCloseTracker.NO_DEADLINE, tracker.nanosUntilNextDeadline(now));
    }
  }

  /** One release as the listener saw it. */
  record Released(ReleaseCause cause, long lingeredNanos) {}

  /** A recording {@link StreamResetter} and {@link LingeringStreamListener}. */
  static final class Recorder {
    /** Everything, in order: {@code lingering}, {@code released <cause> after <nanos>}, {@code reset <id>}. */
    final List<String> events = new ArrayList<>();
    final List<Released> releases = new ArrayList<>();
    final List<Integer> resets = new ArrayList<>();
    final List<Integer> resetsOfStillLingeringStreams = new ArrayList<>();
    final Map<ReleaseCause, Integer> releasedByCause = new EnumMap<>(ReleaseCause.class);
    int lingeringCalls;
    int releasedCalls;
    long totalLingeredNanos;
    boolean keepEventLog = true;
    TrackerHarness tracker;

    public void onLingering() {
      lingeringCalls++;
      log("lingering");
    }

    public void onReleased(ReleaseCause cause, long lingeredNanos) {
      releasedCalls++;
      totalLingeredNanos += lingeredNanos;
      releasedByCause.merge(cause, 1, Integer::sum);
      if (keepEventLog) {
        releases.add(new Released(cause, lingeredNanos));
        log("released " + cause.tagValue() + " after " + lingeredNanos);
      }
    }

    public void resetWithNoError(int streamId) {
      resets.add(streamId);
      if (tracker != null && tracker.isLingering(streamId)) {
        resetsOfStillLingeringStreams.add(streamId);
      }
      log("reset " + streamId);
    }

    int lingeringNow() {
      return lingeringCalls - releasedCalls;
    }

    int releasedBy(ReleaseCause cause) {
      return releasedByCause.getOrDefault(cause, 0);
    }

    private void log(String event) {
      if (keepEventLog) {
        events.add(event);
      }
    }
  }
}
