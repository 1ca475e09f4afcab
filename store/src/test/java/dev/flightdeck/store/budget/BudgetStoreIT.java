package dev.flightdeck.store.budget;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flightdeck.store.Database;
import dev.flightdeck.store.Dialect;
import dev.flightdeck.store.TestDatabases;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Budget arithmetic, all-or-nothing reservations, settling, sweeping and expiry on both dialects. */
class BudgetStoreIT {

  private static final long DAY_END = 86_400_000L;
  private static final Duration HOLD = Duration.ofMinutes(5);

  @TempDir Path dir;
  private final TestClock clock = new TestClock(1_000);
  private Database db;
  private BudgetStore store;

  private void open(Dialect dialect) {
    db = TestDatabases.of(dialect, dir);
    store = new BudgetStore(db, clock);
  }

  @AfterEach
  void close() {
    if (db != null) {
      db.close();
    }
  }

  private static BudgetCounter tokens(String key, long limit) {
    return new BudgetCounter(key, "daily", limit, -1, DAY_END);
  }

  private Reservation.Granted granted(List<BudgetCounter> counters, Amount asked) {
    Reservation r = store.reserve(counters, asked, HOLD);
    assertThat(r).isInstanceOf(Reservation.Granted.class);
    return (Reservation.Granted) r;
  }

  private CounterState state(String key) {
    return store.counter(key).orElseThrow();
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void settlingRefundsWhatWasNotUsedAndChargesOverruns(Dialect d) {
    open(d);
    BudgetCounter agent = new BudgetCounter("agent/triage/day", "daily", 1_000, 5_000_000, DAY_END);
    Reservation.Granted first = granted(List.of(agent), new Amount(300, 1_000_000));
    assertThat(first.reserved()).isEqualTo(new Amount(300, 1_000_000));
    assertThat(first.remainingTokensAndNano()).isEqualTo(new Amount(700, 4_000_000));
    Reservation.Granted second = granted(List.of(agent), new Amount(300, 1_000_000));
    assertThat(second.remainingTokensAndNano()).isEqualTo(new Amount(400, 3_000_000));
    assertThat(state(agent.key()).reserved()).isEqualTo(new Amount(600, 2_000_000));

    assertThat(store.settle(first.reservationId(), new Amount(120, 400_000))).isTrue(); // refund
    assertThat(state(agent.key())).isEqualTo(new CounterState(agent.key(), "daily", new Amount(120, 400_000),
        new Amount(300, 1_000_000), 1_000, 5_000_000));
    assertThat(store.settle(second.reservationId(), new Amount(450, 1_700_000))).isTrue(); // overrun
    assertThat(state(agent.key()).used()).isEqualTo(new Amount(570, 2_100_000));
    assertThat(state(agent.key()).reserved()).isEqualTo(Amount.ZERO);

    // 570 used: 430 tokens left, so 430 fits and 431 does not.
    assertThat(store.reserve(List.of(agent), new Amount(431, 0), HOLD)).isInstanceOf(Reservation.Denied.class);
    assertThat(granted(List.of(agent), new Amount(430, 0)).remainingTokensAndNano()).isEqualTo(new Amount(0, 2_900_000));
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void oneFullCounterDeniesTheWholeReservation_andNothingIsReservedAnywhere(Dialect d) {
    open(d);
    BudgetCounter session = tokens("session/s1", 10_000);
    BudgetCounter agent = tokens("agent/triage", 10_000);
    BudgetCounter team = tokens("team/support", 500);
    Reservation.Granted g = granted(List.of(session, agent, team), new Amount(400, 0));
    store.settle(g.reservationId(), new Amount(400, 0));

    BudgetCounter newSession = tokens("session/s2", 10_000);
    Reservation r = store.reserve(List.of(newSession, session, agent, team), new Amount(200, 0), HOLD);

    assertThat(r).isEqualTo(new Reservation.Denied(team, new Amount(400, 0), new Amount(200, 0)));
    for (BudgetCounter c : List.of(session, agent, team)) {
      assertThat(state(c.key()).reserved()).as(c.key()).isEqualTo(Amount.ZERO);
      assertThat(state(c.key()).used()).as(c.key()).isEqualTo(new Amount(400, 0));
    }
    assertThat(store.counter(newSession.key())).as("a denied reservation creates no counter").isEmpty();
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void deniedNamesTheFirstCounterInKeyOrderWithoutRoom_withWhatItHoldsNow(Dialect d) {
    open(d);
    BudgetCounter a = tokens("a/agent", 1_000);
    BudgetCounter b = tokens("b/team", 999);
    BudgetCounter c = new BudgetCounter("c/org", "org-cost", -1, 1_000_000, DAY_END);
    granted(List.of(c, b), new Amount(900, 900_000)); // held, not settled
    Reservation.Granted onA = granted(List.of(a), new Amount(950, 0));
    store.settle(onA.reservationId(), new Amount(960, 0));

    // All three lack room; a comes first in key order, whatever the order passed.
    assertThat(store.reserve(List.of(c, b, a), new Amount(100, 200_000), HOLD))
        .isEqualTo(new Reservation.Denied(a, new Amount(960, 0), new Amount(100, 200_000)));
    // Without a: b (tokens) comes before c (cost).
    assertThat(store.reserve(List.of(c, b), new Amount(101, 0), HOLD))
        .isEqualTo(new Reservation.Denied(b, new Amount(900, 900_000), new Amount(101, 0)));
    // A cost-only ask: b has room on tokens, c has none on cost.
    assertThat(store.reserve(List.of(c, b), new Amount(0, 100_001), HOLD))
        .isEqualTo(new Reservation.Denied(c, new Amount(900, 900_000), new Amount(0, 100_001)));
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void anAskAboveALimit_isDeniedWithoutCreatingAnyCounter(Dialect d) {
    open(d);
    BudgetCounter session = tokens("session/s1", 10_000);
    BudgetCounter small = tokens("session/tiny", 50);
    assertThat(store.reserve(List.of(session, small), new Amount(100, 0), HOLD))
        .isEqualTo(new Reservation.Denied(small, Amount.ZERO, new Amount(100, 0)));
    assertThat(store.counter(session.key())).isEmpty();
    assertThat(store.counter(small.key())).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void reserveEach_grantsOrDeniesEachAskOnItsOwn_asReserveWouldWithThatCounter(Dialect d) {
    open(d);
    BudgetCounter full = tokens("session/full", 1_000);
    BudgetCounter old = new BudgetCounter("agent/triage/day", "daily", -1, 5_000_000, DAY_END);
    BudgetCounter fresh = tokens("session/new", 10_000);
    BudgetCounter tiny = tokens("session/tiny", 50);
    store.settle(granted(List.of(full), new Amount(950, 0)), new Amount(960, 0));
    store.settle(granted(List.of(old), new Amount(0, 1_000_000)), new Amount(0, 1_000_000));

    // Not in key order, with one ask that no longer fits and one above its counter's limit.
    List<Reservation> r = store.reserveEach(List.of(
        new BudgetStore.Ask(fresh, new Amount(400, 0), HOLD),
        new BudgetStore.Ask(full, new Amount(100, 0), HOLD),
        new BudgetStore.Ask(old, new Amount(0, 3_000_000), Duration.ofSeconds(30)),
        new BudgetStore.Ask(tiny, new Amount(100, 0), HOLD)));

    assertThat(r).hasSize(4);
    Reservation.Granted onFresh = (Reservation.Granted) r.get(0);
    assertThat(onFresh.counters()).containsExactly(fresh.key());
    assertThat(onFresh.remainingTokensAndNano()).isEqualTo(new Amount(9_600, -1));
    assertThat(r.get(1)).isEqualTo(new Reservation.Denied(full, new Amount(960, 0), new Amount(100, 0)));
    Reservation.Granted onOld = (Reservation.Granted) r.get(2);
    assertThat(onOld.remainingTokensAndNano()).isEqualTo(new Amount(-1, 1_000_000));
    assertThat(r.get(3)).isEqualTo(new Reservation.Denied(tiny, Amount.ZERO, new Amount(100, 0)));
    assertThat(onFresh.reservationId()).isNotEqualTo(onOld.reservationId());

    assertThat(state(fresh.key()).reserved()).isEqualTo(new Amount(400, 0));
    assertThat(state(full.key())).isEqualTo(new CounterState(full.key(), "daily", new Amount(960, 0), Amount.ZERO,
        1_000, -1));
    assertThat(state(old.key()).reserved()).isEqualTo(new Amount(0, 3_000_000));
    assertThat(store.counter(tiny.key())).as("a denied ask above its limit creates no counter").isEmpty();

    // Each grant is a reservation of its own: settled on its own, and swept after its own hold.
    assertThat(store.settle(onFresh, new Amount(250, 0))).isTrue();
    assertThat(state(fresh.key()).used()).isEqualTo(new Amount(250, 0));
    clock.advance(Duration.ofMinutes(1));
    assertThat(store.sweepExpired()).as("only the 30 s hold expired").isEqualTo(1);
    assertThat(state(old.key())).isEqualTo(new CounterState(old.key(), "daily", new Amount(0, 4_000_000), Amount.ZERO,
        -1, 5_000_000));
    assertThat(store.settle(onOld, Amount.ZERO)).as("already settled by the sweeper").isFalse();

    assertThat(store.reserveEach(List.of())).isEmpty();
    assertThatThrownBy(() -> store.reserveEach(List.of(new BudgetStore.Ask(fresh, new Amount(1, 0), HOLD),
        new BudgetStore.Ask(fresh, new Amount(2, 0), HOLD))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("session/new is asked twice");
    assertThatThrownBy(() -> store.reserveEach(List.of(new BudgetStore.Ask(fresh, new Amount(-1, 0), HOLD))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("asked");
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void reserveEachAndSettleEach_areOneStatementEachOnPostgres_andSettleSharedCountersByTheirSums(Dialect d) {
    open(d);
    Map<String, Integer> operations = new ConcurrentHashMap<>();
    db.onTiming((operation, nanos) -> operations.merge(operation, 1, Integer::sum));
    BudgetCounter a = tokens("a/agent", 10_000);
    BudgetCounter b = new BudgetCounter("b/team", "team", 10_000, 9_000_000, DAY_END);
    BudgetCounter c = tokens("c/session", 10_000);
    Reservation.Granted onAb = granted(List.of(a, b), new Amount(500, 1_000_000));
    Reservation.Granted onBc = granted(List.of(b, c), new Amount(300, 2_000_000));
    Reservation.Granted onA = granted(List.of(a), new Amount(200, 0));
    Reservation.Granted done = granted(List.of(c), new Amount(100, 0));
    assertThat(store.settle(done, new Amount(90, 0))).isTrue();
    List<Reservation> fresh = store.reserveEach(List.of(new BudgetStore.Ask(tokens("s/1", 1_000), new Amount(10, 0), HOLD),
        new BudgetStore.Ask(tokens("s/2", 1_000), new Amount(20, 0), HOLD),
        new BudgetStore.Ask(tokens("s/3", 1_000), new Amount(30, 0), HOLD)));
    assertThat(fresh).allMatch(r -> r instanceof Reservation.Granted);
    operations.clear();

    List<Boolean> settled = store.settleEach(List.of(
        new BudgetStore.Settlement(onAb, new Amount(450, 1_200_000)), // an overrun on cost
        new BudgetStore.Settlement(onBc, new Amount(100, 500_000)),
        new BudgetStore.Settlement(done, new Amount(1, 0)), // already settled: changes nothing
        new BudgetStore.Settlement(onA, new Amount(250, 0)),
        new BudgetStore.Settlement((Reservation.Granted) fresh.get(1), new Amount(5, 0))));

    assertThat(settled).containsExactly(true, true, false, true, true);
    assertThat(operations.get("budget.settle")).as("store calls to settle").isEqualTo(d == Dialect.POSTGRES ? 1 : 5);
    assertThat(state(a.key())).isEqualTo(new CounterState(a.key(), "daily", new Amount(700, 1_200_000), Amount.ZERO,
        10_000, -1));
    assertThat(state(b.key())).isEqualTo(new CounterState(b.key(), "team", new Amount(550, 1_700_000), Amount.ZERO,
        10_000, 9_000_000));
    assertThat(state(c.key()).used()).isEqualTo(new Amount(190, 500_000));
    assertThat(state(c.key()).reserved()).isEqualTo(Amount.ZERO);
    assertThat(state("s/2").used()).isEqualTo(new Amount(5, 0));
    assertThat(state("s/1").reserved()).as("not in the batch").isEqualTo(new Amount(10, 0));

    operations.clear();
    List<Reservation> more = store.reserveEach(List.of(new BudgetStore.Ask(tokens("s/4", 1_000), new Amount(10, 0), HOLD),
        new BudgetStore.Ask(tokens("s/5", 1_000), new Amount(20, 0), HOLD),
        new BudgetStore.Ask(a, new Amount(30, 0), HOLD)));
    assertThat(more).allMatch(r -> r instanceof Reservation.Granted);
    assertThat(operations.get("budget.reserve")).as("store calls to reserve").isEqualTo(d == Dialect.POSTGRES ? 1 : 3);
    assertThat(state(a.key()).reserved()).isEqualTo(new Amount(30, 0));
    assertThatThrownBy(() -> store.settleEach(List.of(new BudgetStore.Settlement(onA, Amount.ZERO),
        new BudgetStore.Settlement(onA, Amount.ZERO))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("settled twice");
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void reserveEach_fromManyThreadsAtOnce_neverGrantsBeyondALimit(Dialect d) throws Exception {
    open(d);
    List<BudgetCounter> counters = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      counters.add(tokens("shared/" + i, 1_000));
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<List<Reservation>>> batches = new ArrayList<>();
    try {
      for (int t = 0; t < 40; t++) {
        int shift = t;
        batches.add(pool.submit(() -> {
          start.await();
          List<BudgetStore.Ask> asks = new ArrayList<>();
          for (int i = 0; i < 4; i++) { // 4 of the 6 counters, a different window each time
            asks.add(new BudgetStore.Ask(counters.get((shift + i) % counters.size()), new Amount(70, 0), HOLD));
          }
          return store.reserveEach(asks);
        }));
      }
      start.countDown();
      long[] granted = new long[counters.size()];
      for (Future<List<Reservation>> f : batches) {
        for (Reservation r : f.get()) {
          if (r instanceof Reservation.Granted g) {
            granted[Integer.parseInt(g.counters().get(0).substring("shared/".length()))] += g.reserved().tokens();
          }
        }
      }
      for (int i = 0; i < counters.size(); i++) {
        // 40 batches x 4 asks / 6 counters: about 27 asks of 70 on each, room for 14 of them.
        assertThat(granted[i]).as("granted on " + i).isEqualTo(14 * 70);
        assertThat(state(counters.get(i).key()).reserved()).isEqualTo(new Amount(14 * 70, 0));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void unlimitedDimensionsNeverDeny_andReportMinusOneRemaining(Dialect d) {
    open(d);
    BudgetCounter unlimited = new BudgetCounter("agent/free", "free", -1, -1, DAY_END);
    BudgetCounter costOnly = new BudgetCounter("team/cost", "cost", -1, 1_000, DAY_END);
    Reservation.Granted g = granted(List.of(unlimited), new Amount(1L << 40, 1L << 40));
    assertThat(g.remainingTokensAndNano()).isEqualTo(new Amount(-1, -1));
    assertThat(granted(List.of(unlimited, costOnly), new Amount(1L << 40, 600)).remainingTokensAndNano())
        .isEqualTo(new Amount(-1, 400));
    assertThat(store.reserve(List.of(unlimited, costOnly), new Amount(0, 401), HOLD))
        .isEqualTo(new Reservation.Denied(costOnly, new Amount(1L << 40, 600), new Amount(0, 401)));
    assertThat(state(unlimited.key()).reserved()).isEqualTo(new Amount(2L << 40, (1L << 40) + 600));
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void aChangedLimitAppliesToTheNextReservation_andIsShownOnTheCounter(Dialect d) {
    open(d);
    Reservation.Granted g = granted(List.of(tokens("agent/a", 1_000)), new Amount(600, 0));
    store.settle(g.reservationId(), new Amount(600, 0));
    // The Budget was edited down below what is used: nothing more fits.
    BudgetCounter lowered = new BudgetCounter("agent/a", "daily-v2", 500, 77, DAY_END);
    assertThat(store.reserve(List.of(lowered), new Amount(0, 0), HOLD))
        .isEqualTo(new Reservation.Denied(lowered, new Amount(600, 0), Amount.ZERO));
    BudgetCounter raised = new BudgetCounter("agent/a", "daily-v3", 2_000, -1, DAY_END);
    assertThat(granted(List.of(raised), new Amount(1_400, 5)).remainingTokensAndNano()).isEqualTo(new Amount(0, -1));
    assertThat(state("agent/a")).extracting(CounterState::budget, CounterState::limitTokens, CounterState::limitNanoUsd)
        .containsExactly("daily-v3", 2_000L, -1L);
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void settlingTwiceChangesNothingTheSecondTime(Dialect d) {
    open(d);
    BudgetCounter agent = tokens("agent/a", 1_000);
    Reservation.Granted g = granted(List.of(agent), new Amount(100, 0));
    assertThat(store.settle(g.reservationId(), new Amount(80, 0))).isTrue();
    assertThat(store.settle(g.reservationId(), new Amount(80, 0))).isFalse();
    assertThat(store.settle(g.reservationId(), new Amount(500, 0))).isFalse();
    assertThat(store.settle(12345, new Amount(1, 0))).as("never granted").isFalse();
    assertThat(state(agent.key()).used()).isEqualTo(new Amount(80, 0));
    assertThat(state(agent.key()).reserved()).isEqualTo(Amount.ZERO);
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void settlingOnACounterDeletedBehindTheStoresBack_failsAndChangesNothing(Dialect d) {
    open(d);
    BudgetCounter agent = tokens("agent/a", 1_000);
    BudgetCounter session = tokens("session/s", 1_000);
    Reservation.Granted g = granted(List.of(agent, session), new Amount(100, 0));
    db.inTransaction("test", tx -> tx.connection().createStatement()
        .executeUpdate("DELETE FROM fd_budget_counter WHERE counter_key = 'session/s'"));
    assertThatThrownBy(() -> store.settle(g.reservationId(), new Amount(90, 0)))
        .isInstanceOf(dev.flightdeck.store.StoreException.class)
        .hasMessageContaining("holds counter session/s, which does not exist");
    assertThat(store.counter(session.key())).isEmpty();
    assertThat(state(agent.key())).extracting(CounterState::used, CounterState::reserved)
        .containsExactly(Amount.ZERO, new Amount(100, 0));
    // The sweeper settles the other expired reservations, and leaves the broken one for people.
    granted(List.of(agent), new Amount(50, 0));
    clock.advance(HOLD);
    assertThat(store.sweepExpired()).isEqualTo(1);
    assertThat(state(agent.key())).extracting(CounterState::used, CounterState::reserved)
        .containsExactly(new Amount(50, 0), new Amount(100, 0));
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void theSweeperSettlesExpiredHoldsAtTheirFullAmount_andALateSettleChangesNothing(Dialect d) {
    open(d);
    BudgetCounter agent = tokens("agent/a", 1_000);
    BudgetCounter session = tokens("session/s", 1_000);
    Reservation.Granted shortHold = (Reservation.Granted) store.reserve(List.of(agent, session), new Amount(100, 7),
        Duration.ofSeconds(10));
    Reservation.Granted longHold = (Reservation.Granted) store.reserve(List.of(agent), new Amount(200, 0),
        Duration.ofSeconds(60));
    clock.advance(Duration.ofSeconds(9));
    assertThat(store.sweepExpired()).isZero();
    clock.advance(Duration.ofSeconds(1));
    assertThat(store.sweepExpired()).isEqualTo(1);
    assertThat(store.sweepExpired()).as("idempotent").isZero();
    assertThat(state(agent.key())).extracting(CounterState::used, CounterState::reserved)
        .containsExactly(new Amount(100, 7), new Amount(200, 0));
    assertThat(state(session.key())).extracting(CounterState::used, CounterState::reserved)
        .containsExactly(new Amount(100, 7), Amount.ZERO);
    // The gateway comes back with the real usage after the sweeper charged the reservation.
    assertThat(store.settle(shortHold.reservationId(), new Amount(10, 0))).isFalse();
    assertThat(state(agent.key()).used()).isEqualTo(new Amount(100, 7));
    // And the other way round: settled first, the sweeper finds nothing.
    assertThat(store.settle(longHold.reservationId(), new Amount(150, 0))).isTrue();
    clock.advance(Duration.ofMinutes(5));
    assertThat(store.sweepExpired()).isZero();
    assertThat(state(agent.key())).extracting(CounterState::used, CounterState::reserved)
        .containsExactly(new Amount(250, 7), Amount.ZERO);
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void sweepersAndSettlesRacing_settleEachReservationExactlyOnce(Dialect d) throws Exception {
    open(d);
    BudgetCounter agent = tokens("agent/a", -1);
    int n = 200;
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(granted(List.of(agent), new Amount(10, 0)).reservationId());
    }
    clock.advance(HOLD);
    try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Integer>> sweeps = new ArrayList<>();
      for (int s = 0; s < 3; s++) {
        sweeps.add(pool.submit(() -> {
          start.await();
          return store.sweepExpired();
        }));
      }
      List<Future<Boolean>> settles = new ArrayList<>();
      for (long id : ids) {
        settles.add(pool.submit(() -> {
          start.await();
          return store.settle(id, new Amount(3, 0));
        }));
      }
      start.countDown();
      int swept = 0;
      for (Future<Integer> f : sweeps) {
        swept += f.get();
      }
      int settled = 0;
      for (Future<Boolean> f : settles) {
        settled += f.get() ? 1 : 0;
      }
      assertThat(swept + settled).isEqualTo(n);
      assertThat(state(agent.key())).extracting(CounterState::used, CounterState::reserved)
          .containsExactly(new Amount(10L * swept + 3L * settled, 0), Amount.ZERO);
    }
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void expiredCountersAreDeleted_unlessTheyHoldALiveReservation(Dialect d) {
    open(d);
    BudgetCounter yesterday = new BudgetCounter("agent/a/day-1", "daily", 1_000, -1, 5_000);
    BudgetCounter yesterdayHeld = new BudgetCounter("agent/b/day-1", "daily", 1_000, -1, 5_000);
    BudgetCounter zeroHeld = new BudgetCounter("agent/c/day-1", "daily", 1_000, -1, 5_000);
    BudgetCounter today = new BudgetCounter("agent/a/day-2", "daily", 1_000, -1, DAY_END);
    store.settle(granted(List.of(yesterday), new Amount(10, 0)).reservationId(), new Amount(10, 0));
    granted(List.of(yesterdayHeld), new Amount(10, 0));
    Reservation.Granted nothingAsked = granted(List.of(zeroHeld), Amount.ZERO);
    store.settle(granted(List.of(today), new Amount(10, 0)).reservationId(), new Amount(10, 0));

    assertThat(store.deleteExpiredCounters()).as("before expiry").isZero();
    clock.set(5_000);
    assertThat(store.deleteExpiredCounters()).isEqualTo(1);
    assertThat(store.counter(yesterday.key())).isEmpty();
    assertThat(store.counter(yesterdayHeld.key())).isPresent();
    assertThat(store.counter(today.key())).isPresent();
    // A reservation that asked for nothing still holds its counter, so its usage lands somewhere.
    assertThat(store.settle(nothingAsked.reservationId(), new Amount(42, 0))).isTrue();
    assertThat(state(zeroHeld.key()).used()).isEqualTo(new Amount(42, 0));
    assertThat(store.deleteExpiredCounters()).isEqualTo(1);
    clock.set(HOLD.toMillis() + 5_000);
    assertThat(store.sweepExpired()).isEqualTo(1);
    assertThat(store.deleteExpiredCounters()).isEqualTo(1);
    assertThat(store.counters("agent/", 10)).extracting(CounterState::key).containsExactly(today.key());
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void sweepingAndExpiryGoThroughMoreThanOneBatch(Dialect d) {
    open(d);
    int n = 520; // more than the 500 read per batch
    for (int i = 0; i < n; i++) {
      granted(List.of(new BudgetCounter("session/" + i, "s", 1_000, -1, 2_000)), new Amount(5, 0));
    }
    clock.advance(HOLD);
    assertThat(store.sweepExpired()).isEqualTo(n);
    assertThat(store.deleteExpiredCounters()).isEqualTo(n);
    assertThat(store.counters("session/", 10)).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void aLaterExpiryExtendsACounter_anEarlierOneDoesNotShortenIt(Dialect d) {
    open(d);
    store.settle(granted(List.of(new BudgetCounter("session/s", "s", -1, -1, 5_000)), Amount.ZERO).reservationId(),
        Amount.ZERO);
    store.settle(granted(List.of(new BudgetCounter("session/s", "s", -1, -1, 9_000)), Amount.ZERO).reservationId(),
        Amount.ZERO);
    store.settle(granted(List.of(new BudgetCounter("session/s", "s", -1, -1, 2_000)), Amount.ZERO).reservationId(),
        Amount.ZERO);
    clock.set(8_999);
    assertThat(store.deleteExpiredCounters()).isZero();
    clock.set(9_000);
    assertThat(store.deleteExpiredCounters()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void keysWithOddCharacters_areKeptExactly_andListedByPrefixInKeyOrder(Dialect d) {
    open(d);
    List<String> keys = List.of(
        "budget/x/agent/a%b_c", "budget/x/agent/a", "budget/x/agent/A", "budget/x/agent/a\\b", "budget/x/agent/it's \"q\"",
        "budget/x/agent/é-ü-日本", "budget/x/agent/😀", "budget/x/agent/\uFFFD", "budget/x/agent/a b", "budget/xy/other",
        "budget/x/" + "k".repeat(BudgetCounter.MAX_KEY_LENGTH - 9));
    for (String k : keys) {
      store.settle(granted(List.of(tokens(k, 100)), new Amount(1, 0)).reservationId(), new Amount(2, 0));
    }
    for (String k : keys) {
      assertThat(state(k).used()).as(k).isEqualTo(new Amount(2, 0));
    }
    List<String> expected = keys.stream().filter(k -> k.startsWith("budget/x/agent/"))
        .sorted(BudgetStore.KEY_ORDER).toList();
    assertThat(store.counters("budget/x/agent/", 100)).extracting(CounterState::key).containsExactlyElementsOf(expected);
    assertThat(store.counters("budget/x/agent/", 3)).extracting(CounterState::key)
        .containsExactlyElementsOf(expected.subList(0, 3));
    // Paged: each page starts after the last key of the one before, in the same order.
    List<String> paged = new java.util.ArrayList<>();
    String after = null;
    for (List<CounterState> page; !(page = store.counters("budget/x/agent/", after, 3)).isEmpty(); ) {
      assertThat(paged.size()).as("pages end").isLessThan(expected.size());
      assertThat(page.size()).isLessThanOrEqualTo(3);
      page.forEach(c -> paged.add(c.key()));
      after = page.get(page.size() - 1).key();
    }
    assertThat(paged).containsExactlyElementsOf(expected);
    assertThat(store.counters("budget/x/agent/", "budget/x/agent/a", 100)).extracting(CounterState::key)
        .containsExactlyElementsOf(expected.subList(expected.indexOf("budget/x/agent/a") + 1, expected.size()));
    // No pattern characters, no case folding: % and _ are themselves, and "a" is not "A".
    assertThat(store.counters("budget/x/agent/a%", 10)).extracting(CounterState::key).containsExactly("budget/x/agent/a%b_c");
    assertThat(store.counters("budget/x/agent/a_", 10)).isEmpty();
    assertThat(store.counters("budget/x/agent/A", 10)).extracting(CounterState::key).containsExactly("budget/x/agent/A");
    assertThat(store.counters("budget/x/agent/😀", 10)).hasSize(1);
    assertThat(store.counters("budget/x", 100)).hasSize(keys.size());
    assertThat(store.counters("", 100)).hasSize(keys.size());
    assertThat(store.counter("budget/x/agent/nope")).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void rejectsCallsThatCannotBeRight(Dialect d) {
    open(d);
    BudgetCounter a = tokens("agent/a", 100);
    assertThatThrownBy(() -> store.reserve(List.of(), new Amount(1, 0), HOLD))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one budget counter");
    assertThatThrownBy(() -> store.reserve(List.of(a, tokens("agent/a", 5)), new Amount(1, 0), HOLD))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("agent/a is listed twice");
    assertThatThrownBy(() -> store.reserve(List.of(a), new Amount(-1, 0), HOLD))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("asked");
    assertThatThrownBy(() -> store.reserve(List.of(a), new Amount(1, 0), Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positive duration");
    long id = granted(List.of(a), new Amount(1, 0)).reservationId();
    assertThatThrownBy(() -> store.settle(id, new Amount(0, -5)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("actual usage");
    assertThat(state(a.key()).reserved()).isEqualTo(new Amount(1, 0));
  }

  /** A clock the test moves. */
  static final class TestClock extends Clock {
    private final AtomicLong millis;

    TestClock(long millis) {
      this.millis = new AtomicLong(millis);
    }

    void advance(Duration d) {
      millis.addAndGet(d.toMillis());
    }

    void set(long value) {
      millis.set(value);
    }

    @Override
    public long millis() {
      return millis.get();
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis.get());
    }

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      throw new UnsupportedOperationException();
    }
  }
}
