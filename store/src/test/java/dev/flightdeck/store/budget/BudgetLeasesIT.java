package dev.flightdeck.store.budget;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.flightdeck.store.Database;
import dev.flightdeck.store.Dialect;
import dev.flightdeck.store.TestDatabases;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Leases keep {@link BudgetStore}'s guarantee (never more granted than the limit, every use
 * charged) while asking the store once per slice instead of once per call: two gateway
 * processes, each with its own {@link BudgetLeases} and connection pool, on one database.
 */
class BudgetLeasesIT {

  private static final long ASK = 100;
  private static final Duration HOLD = Duration.ofMinutes(5);
  private static final long NEVER = Long.MAX_VALUE;

  @TempDir Path dir;

  private List<Database> twoProcesses(Dialect dialect) {
    if (dialect == Dialect.SQLITE) {
      return List.of(Database.sqlite(dir), Database.sqlite(dir));
    }
    String url = TestDatabases.freshPostgresUrl();
    return List.of(Database.postgres(url), Database.postgres(url));
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void aBurstPastTheLimit_grantsAtMostTheLimit_strandsAtMostOneSlicePerProcess_andChargesEveryCall(Dialect d)
      throws Exception {
    List<Database> dbs = twoProcesses(d);
    try {
      long limit = 1_000 * ASK; // 1,000 calls; a slice (1/64) holds 15
      BudgetCounter agent = new BudgetCounter("budget/daily/agent/triage/2026-11-23", "daily", limit, -1, NEVER);
      BudgetCounter team = new BudgetCounter("budget/team/team/support", "team", -1, -1, NEVER);
      List<BudgetLeases> leases = dbs.stream().map(db -> new BudgetLeases(new BudgetStore(db, Clock.systemUTC()),
          Clock.systemUTC(), Duration.ofMinutes(1), Duration.ofMinutes(1), 64, 8,
          Duration.ofMinutes(1))).toList();
      List<Callable<BudgetLeases.Result>> calls = new ArrayList<>();
      for (int i = 0; i < 1_300; i++) {
        BudgetLeases l = leases.get(i % 2);
        calls.add(() -> l.reserve(List.of(team, agent), new Amount(ASK, 0), HOLD));
      }
      List<BudgetLeases.Result> outcomes = BudgetConcurrencyIT.runTogether(calls, 64);

      List<BudgetLeases.Held> held = outcomes.stream()
          .flatMap(r -> r instanceof BudgetLeases.Held h ? java.util.stream.Stream.of(h) : java.util.stream.Stream.empty())
          .toList();
      long slice = limit / 64;
      long asked = leases.stream().mapToLong(BudgetLeases::leasesAsked).sum();
      // Left unused near the limit: at most two slices per process (the current and the one leased
      // ahead), and what remained of each lease whose calls were still in flight (less than one
      // call's ask; here every lease's).
      assertThat((long) held.size()).as("granted calls").isLessThanOrEqualTo(limit / ASK)
          .isGreaterThanOrEqualTo((limit - 4 * slice - asked * ASK) / ASK);
      assertThat(outcomes).filteredOn(r -> r instanceof BudgetLeases.Refused).allSatisfy(r ->
          assertThat(((BudgetLeases.Refused) r).denied().counter().key()).isEqualTo(agent.key()));
      assertThat(asked).as("leases asked of the store for %d grants", held.size()).isLessThan(held.size() / 5);

      // Every call ends, using 80 tokens, and both processes stop: their leases are settled.
      for (int i = 0; i < held.size(); i++) {
        leases.get(i % 2).settle(held.get(i), new Amount(80, 0));
      }
      leases.forEach(BudgetLeases::close);
      BudgetStore store = new BudgetStore(dbs.getFirst(), Clock.systemUTC());
      for (BudgetCounter c : List.of(agent, team)) {
        CounterState s = store.counter(c.key()).orElseThrow();
        assertThat(s.used()).as(c.key()).isEqualTo(new Amount(80L * held.size(), 0));
        assertThat(s.reserved()).as(c.key()).isEqualTo(Amount.ZERO);
      }
      assertThat(store.sweepExpired()).as("no reservation left behind").isZero();
    } finally {
      dbs.forEach(Database::close);
    }
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void farFromTheLimit_eachProcessAsksTheStoreOncePerLease(Dialect d) throws Exception {
    List<Database> dbs = twoProcesses(d);
    try {
      BudgetCounter agent = new BudgetCounter("budget/daily/agent/triage/2026-11-23", "daily", -1, 5_000_000_000L, NEVER);
      List<BudgetLeases> leases = dbs.stream().map(db -> new BudgetLeases(new BudgetStore(db, Clock.systemUTC()),
          Clock.systemUTC(), Duration.ofMinutes(1), Duration.ofMinutes(1), 64, 8,
          Duration.ofMinutes(1))).toList();
      List<Callable<Void>> calls = new ArrayList<>();
      for (int i = 0; i < 2_000; i++) {
        BudgetLeases l = leases.get(i % 2);
        // A session's counter is kept 30 days after its last call: its expiry moves with every call.
        BudgetCounter sliding = new BudgetCounter(agent.key(), agent.budget(), -1, agent.limitNanoUsd(), 1_000_000L + i);
        calls.add(() -> {
          BudgetLeases.Held h = (BudgetLeases.Held) l.reserve(List.of(sliding), new Amount(200, 60_000), HOLD);
          assertThat(h.remaining().nanoUsd()).isPositive();
          assertThat(h.remaining().tokens()).as("no token limit").isEqualTo(-1);
          l.settle(h, new Amount(150, 45_000));
          return null;
        });
      }
      BudgetConcurrencyIT.runTogether(calls, 32);
      assertThat(leases).allSatisfy(l -> {
        assertThat(l.leasesAsked()).isEqualTo(1);
        assertThat(l.directReservations()).isZero();
      });
      leases.forEach(BudgetLeases::close);
      CounterState s = new BudgetStore(dbs.getFirst(), Clock.systemUTC()).counter(agent.key()).orElseThrow();
      assertThat(s.used()).isEqualTo(new Amount(2_000 * 150, 2_000 * 45_000L));
      assertThat(s.reserved()).isEqualTo(Amount.ZERO);
    } finally {
      dbs.forEach(Database::close);
    }
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void leasesEnd_whenDue_whenTheBudgetChanges_andADeadProcessIsChargedItsWholeSlice(Dialect d) {
    Database db = d == Dialect.SQLITE ? Database.sqlite(dir) : Database.postgres(TestDatabases.freshPostgresUrl());
    try {
      BudgetStoreIT.TestClock clock = new BudgetStoreIT.TestClock(1_000_000);
      BudgetStore store = new BudgetStore(db, clock);
      BudgetLeases leases = new BudgetLeases(store, clock, Duration.ofSeconds(1), Duration.ofMinutes(1), 64, 8,
          Duration.ofSeconds(5), inline());
      BudgetCounter daily = new BudgetCounter("budget/daily/agent/a", "daily", 64_000, -1, NEVER);
      Amount ask = new Amount(ASK, 0);

      BudgetLeases.Held first = (BudgetLeases.Held) leases.reserve(List.of(daily), ask, HOLD);
      assertThat(first.direct()).as("leased, not reserved in the store").isNull();
      assertThat(store.counter(daily.key()).orElseThrow().reserved().tokens()).as("one slice").isEqualTo(1_000);
      assertThat(first.remaining().tokens()).isEqualTo(64_000 - ASK);
      leases.settle(first, new Amount(70, 0));

      // Unused for a second: expire() ends it, and it is settled at once since no call is in flight.
      clock.advance(Duration.ofSeconds(1));
      assertThat(leases.expire()).isEqualTo(1);
      assertThat(store.counter(daily.key()).orElseThrow()).extracting(CounterState::used, CounterState::reserved)
          .containsExactly(new Amount(70, 0), Amount.ZERO);

      // A call in flight keeps its lease's reservation until it settles.
      BudgetLeases.Held second = (BudgetLeases.Held) leases.reserve(List.of(daily), ask, HOLD);
      // The budget is raised: the next call ends the old lease and takes a slice of the new limit.
      BudgetCounter raised = new BudgetCounter(daily.key(), "daily", 128_000, -1, NEVER);
      BudgetLeases.Held third = (BudgetLeases.Held) leases.reserve(List.of(raised), ask, HOLD);
      assertThat(store.counter(daily.key()).orElseThrow().reserved().tokens()).isEqualTo(1_000 + 2_000);
      leases.settle(second, new Amount(100, 0)); // the old lease drains: it is settled now
      assertThat(store.counter(daily.key()).orElseThrow()).extracting(CounterState::used, CounterState::reserved)
          .containsExactly(new Amount(170, 0), new Amount(2_000, 0));
      leases.settle(third, new Amount(30, 0));

      // The process dies with its lease: after the lease's hold the sweeper charges the whole slice.
      clock.advance(HOLD.plusMinutes(1));
      assertThat(store.sweepExpired()).isEqualTo(1);
      assertThat(store.counter(daily.key()).orElseThrow()).extracting(CounterState::used, CounterState::reserved)
          .containsExactly(new Amount(2_170, 0), Amount.ZERO);

      // A small budget is not leased: every call is reserved in the store.
      BudgetCounter session = new BudgetCounter("budget/s/session/a/1", "s", 20_000, -1, NEVER);
      BudgetLeases.Held small = (BudgetLeases.Held) leases.reserve(List.of(raised, session), new Amount(200, 0), HOLD);
      assertThat(small.leased()).extracting(BudgetLeases.Lease::counterKey).containsExactly(raised.key());
      assertThat(small.direct().counters()).containsExactly(session.key());
      leases.settle(small, new Amount(200, 0));
      leases.close();
      assertThat(store.counter(session.key()).orElseThrow().used()).isEqualTo(new Amount(200, 0));
      assertThat(store.counter(raised.key()).orElseThrow()).extracting(CounterState::used, CounterState::reserved)
          .containsExactly(new Amount(2_370, 0), Amount.ZERO);
    } finally {
      db.close();
    }
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void theNextSliceIsLeasedAhead_atThreeQuartersOfASliceOrOfALeasesAge(Dialect d) {
    Database db = d == Dialect.SQLITE ? Database.sqlite(dir) : Database.postgres(TestDatabases.freshPostgresUrl());
    try {
      BudgetStoreIT.TestClock clock = new BudgetStoreIT.TestClock(1_000_000);
      BudgetStore store = new BudgetStore(db, clock);
      // Background work runs inline, so each step's effect on the store can be checked at once.
      BudgetLeases leases = new BudgetLeases(store, clock, Duration.ofMinutes(5), Duration.ofMinutes(1), 64, 8,
          Duration.ofSeconds(5), inline());
      BudgetCounter daily = new BudgetCounter("budget/daily/agent/a", "daily", 64_000, -1, NEVER); // slices of 1,000
      Amount ask = new Amount(ASK, 0);
      for (int call = 1; call <= 7; call++) {
        leases.settle((BudgetLeases.Held) leases.reserve(List.of(daily), ask, HOLD), ask);
      }
      assertThat(leases.leasesAsked()).as("700 of the first slice's 1,000 taken").isEqualTo(1);
      leases.settle((BudgetLeases.Held) leases.reserve(List.of(daily), ask, HOLD), ask);
      assertThat(leases.leasesAsked()).as("800 taken: the next slice is leased ahead").isEqualTo(2);
      assertThat(store.counter(daily.key()).orElseThrow().reserved()).isEqualTo(new Amount(2_000, 0));

      for (int call = 9; call <= 11; call++) {
        leases.settle((BudgetLeases.Held) leases.reserve(List.of(daily), ask, HOLD), ask);
      }
      assertThat(leases.leasesAsked()).as("the 11th call moved to the next slice without asking").isEqualTo(2);
      assertThat(store.counter(daily.key()).orElseThrow()).as("the first slice, spent, settled")
          .extracting(CounterState::used, CounterState::reserved)
          .containsExactly(new Amount(1_000, 0), new Amount(1_000, 0));

      // Three quarters of the age limit (45 to 60 s, drawn per lease) passed: the next slice is leased ahead.
      clock.advance(Duration.ofSeconds(45));
      leases.settle((BudgetLeases.Held) leases.reserve(List.of(daily), ask, HOLD), ask);
      assertThat(leases.leasesAsked()).isEqualTo(3);
      // Past the age limit the lease ends and the call moves to the slice leased 15 s ago.
      clock.advance(Duration.ofSeconds(15));
      BudgetLeases.Held late = (BudgetLeases.Held) leases.reserve(List.of(daily), ask, HOLD);
      assertThat(leases.leasesAsked()).isEqualTo(3);
      assertThat(store.counter(daily.key()).orElseThrow()).as("the aged lease settled with its 200 used")
          .extracting(CounterState::used, CounterState::reserved)
          .containsExactly(new Amount(1_200, 0), new Amount(1_000, 0));
      leases.settle(late, ask);
      leases.close();
      assertThat(store.counter(daily.key()).orElseThrow()).extracting(CounterState::used, CounterState::reserved)
          .containsExactly(new Amount(1_300, 0), Amount.ZERO);
    } finally {
      db.close();
    }
  }

  /**
   * The renewal ahead is background work: while another transaction holds the counter's row, so
   * that leasing blocks, calls are still granted from what is left of the current slice.
   */
  @Test
  void callsAreGrantedWhileTheRenewalAheadWaitsForTheStore() throws Exception {
    String url = TestDatabases.freshPostgresUrl();
    Database db = Database.postgres(url);
    BudgetLeases leases = new BudgetLeases(new BudgetStore(db, Clock.systemUTC()), Clock.systemUTC(),
        Duration.ofMinutes(5), Duration.ofMinutes(5), 64, 8, Duration.ofSeconds(30));
    try (Connection blocker = DriverManager.getConnection(url)) {
      BudgetCounter daily = new BudgetCounter("budget/daily/agent/a", "daily", 64_000, -1, NEVER);
      Amount ask = new Amount(ASK, 0);
      for (int call = 1; call <= 7; call++) {
        leases.settle((BudgetLeases.Held) leases.reserve(List.of(daily), ask, HOLD), ask);
      }
      blocker.setAutoCommit(false);
      try (PreparedStatement lock = blocker.prepareStatement(
          "SELECT used_tokens FROM fd_budget_counter WHERE counter_key = ? FOR UPDATE")) {
        lock.setString(1, daily.key());
        assertThat(lock.executeQuery().next()).isTrue();
      }
      // The 8th call starts the renewal ahead, which waits for the row; the 9th and 10th do not wait.
      assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
        for (int call = 8; call <= 10; call++) {
          leases.settle((BudgetLeases.Held) leases.reserve(List.of(daily), ask, HOLD), ask);
        }
      });
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (leases.leasesAsked() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(10); // the renewal ahead runs on its own thread
      }
      assertThat(leases.leasesAsked()).as("the renewal ahead asked the store").isEqualTo(2);
      // The 11th finds the slice spent and waits for the renewal in flight, not for a lease of its own.
      CompletableFuture<BudgetLeases.Result> eleventh = CompletableFuture.supplyAsync(
          () -> leases.reserve(List.of(daily), ask, HOLD));
      Thread.sleep(300);
      assertThat(eleventh).as("waits for the next slice").isNotDone();
      blocker.commit();
      assertThat(eleventh.get(10, TimeUnit.SECONDS)).isInstanceOf(BudgetLeases.Held.class);
      assertThat(leases.leasesAsked()).isEqualTo(2);
      leases.settle((BudgetLeases.Held) eleventh.get(), ask);
    } finally {
      leases.close();
      db.close();
    }
  }

  /**
   * Small budgets reserved call by call go to the store together: while one session's reservation
   * waits (its row locked by another transaction, the one store slot taken), the reservations of
   * 99 other sessions queue, and then go to the store in statements of up to
   * {@link BudgetStore#MAX_ASKS_PER_STATEMENT}, each granted on its own.
   */
  @Test
  void smallBudgetsReservedMeanwhile_goToTheStoreTogether() throws Exception {
    String url = TestDatabases.freshPostgresUrl();
    Database db = Database.postgres(url);
    BudgetStore store = new BudgetStore(db, Clock.systemUTC());
    BudgetLeases leases = new BudgetLeases(store, Clock.systemUTC(), Duration.ofMinutes(5), Duration.ofMinutes(5), 64,
        1, Duration.ofSeconds(30));
    ExecutorService calls = Executors.newVirtualThreadPerTaskExecutor();
    Amount ask = new Amount(ASK, 0);
    BudgetCounter agent = new BudgetCounter("budget/daily/agent/a", "daily", 6_400_000, -1, NEVER); // leased
    List<BudgetCounter> sessions = new ArrayList<>();
    for (int i = 0; i < 100; i++) { // 5,000 tokens: a slice (78) holds no call, so each call reserves
      sessions.add(new BudgetCounter("budget/session/session/s" + i, "session", 5_000, -1, NEVER));
    }
    try (Connection blocker = DriverManager.getConnection(url)) {
      store.settle((Reservation.Granted) store.reserve(List.of(sessions.get(0)), ask, HOLD), ask);
      blocker.setAutoCommit(false);
      try (PreparedStatement lock = blocker.prepareStatement(
          "SELECT used_tokens FROM fd_budget_counter WHERE counter_key = ? FOR UPDATE")) {
        lock.setString(1, sessions.get(0).key());
        assertThat(lock.executeQuery().next()).isTrue();
      }
      List<Future<BudgetLeases.Result>> results = new ArrayList<>();
      results.add(calls.submit(() -> leases.reserve(List.of(agent, sessions.get(0)), ask, HOLD)));
      await().alias("the agent's lease, then the first session's reservation").atMost(Duration.ofSeconds(10))
          .until(() -> leases.storeReservations() == 2);
      for (BudgetCounter s : sessions.subList(1, sessions.size())) {
        results.add(calls.submit(() -> leases.reserve(List.of(agent, s), ask, HOLD)));
      }
      await().alias("the other sessions' reservations queued").atMost(Duration.ofSeconds(10))
          .until(() -> leases.waitingForStore() == 99);
      blocker.commit();
      for (Future<BudgetLeases.Result> r : results) {
        BudgetLeases.Held held = (BudgetLeases.Held) r.get(10, TimeUnit.SECONDS);
        assertThat(held.leased()).hasSize(1);
        assertThat(held.direct()).isNotNull();
        leases.settle(held, new Amount(60, 0));
      }
      assertThat(leases.leasesAsked()).isEqualTo(1);
      assertThat(leases.directReservations()).isEqualTo(100);
      assertThat(leases.storeReservations()).as("the lease, the first session, then 99 in statements of up to 16")
          .isEqualTo(2 + (99 + BudgetStore.MAX_ASKS_PER_STATEMENT - 1) / BudgetStore.MAX_ASKS_PER_STATEMENT);
    } finally {
      calls.shutdownNow();
      leases.close();
    }
    try {
      for (BudgetCounter s : sessions) {
        CounterState state = store.counter(s.key()).orElseThrow();
        assertThat(state.reserved()).as(s.key()).isEqualTo(Amount.ZERO);
        assertThat(state.used()).as(s.key()).isEqualTo(new Amount(s == sessions.get(0) ? ASK + 60 : 60, 0));
      }
      assertThat(store.counter(agent.key()).orElseThrow().used()).isEqualTo(new Amount(100 * 60, 0));
    } finally {
      db.close();
    }
  }


  /** Runs background work in the calling thread. */
  private static ExecutorService inline() {
    return new AbstractExecutorService() {
      private volatile boolean shut;

      @Override
      public void execute(Runnable task) {
        if (shut) {
          throw new RejectedExecutionException("shut down");
        }
        task.run();
      }

      @Override
      public void shutdown() {
        shut = true;
      }

      @Override
      public List<Runnable> shutdownNow() {
        shut = true;
        return List.of();
      }

      @Override
      public boolean isShutdown() {
        return shut;
      }

      @Override
      public boolean isTerminated() {
        return shut;
      }

      @Override
      public boolean awaitTermination(long timeout, TimeUnit unit) {
        return true;
      }
    };
  }
}
