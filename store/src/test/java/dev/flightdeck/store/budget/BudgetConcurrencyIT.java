package dev.flightdeck.store.budget;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flightdeck.store.Database;
import dev.flightdeck.store.Dialect;
import dev.flightdeck.store.TestDatabases;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The test: two gateway processes (two {@link Database} instances, two connection pools)
 * on one database race 500 calls against a counter with room for 100 estimates, on tokens and on
 * cost. Platform threads, not virtual ones: SQLite's JDBC driver waits for locks in native code,
 * which would pin the few carrier threads.
 */
class BudgetConcurrencyIT {

  private static final int CALLS = 500;
  private static final long ESTIMATE = 100;
  private static final long LIMIT = 100 * ESTIMATE;
  private static final long NANO_PER_TOKEN = 100_000;
  private static final long DAY_END = Long.MAX_VALUE;
  private static final Duration HOLD = Duration.ofMinutes(5);

  /** Which dimension carries the limit; the other is unlimited but charged all the same. */
  enum Dimension {
    TOKENS, COST;

    BudgetCounter counter(String key, long limitInTokens) {
      return this == TOKENS
          ? new BudgetCounter(key, "limited", limitInTokens, -1, DAY_END)
          : new BudgetCounter(key, "limited", -1, limitInTokens < 0 ? -1 : limitInTokens * NANO_PER_TOKEN, DAY_END);
    }

    Amount amount(long tokens) {
      return new Amount(tokens, tokens * NANO_PER_TOKEN);
    }

    long of(Amount a) {
      return this == TOKENS ? a.tokens() : a.nanoUsd() / NANO_PER_TOKEN;
    }
  }

  static Stream<Arguments> cases() {
    return Stream.of(Dialect.values()).flatMap(d -> Stream.of(Dimension.values()).map(m -> Arguments.of(d, m)));
  }

  @TempDir Path dir;

  /** Two independently opened databases on the same data: two gateway processes. */
  private List<Database> twoProcesses(Dialect dialect) {
    if (dialect == Dialect.SQLITE) {
      return List.of(Database.sqlite(dir), Database.sqlite(dir));
    }
    String url = TestDatabases.freshPostgresUrl();
    return List.of(Database.postgres(url), Database.postgres(url));
  }

  private static <T> List<T> runTogether(List<Callable<T>> tasks) throws Exception {
    return runTogether(tasks, tasks.size());
  }

  /** Runs the tasks on {@code threads} platform threads, released together; their results in order. */
  static <T> List<T> runTogether(List<Callable<T>> tasks, int threads) throws Exception {
    try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
      CountDownLatch ready = new CountDownLatch(Math.min(threads, tasks.size()));
      CountDownLatch go = new CountDownLatch(1);
      List<Future<T>> futures = new ArrayList<>();
      for (Callable<T> task : tasks) {
        futures.add(pool.submit(() -> {
          ready.countDown();
          go.await();
          return task.call();
        }));
      }
      ready.await();
      go.countDown();
      List<T> out = new ArrayList<>();
      for (Future<T> f : futures) {
        out.add(f.get());
      }
      return out;
    }
  }

  @ParameterizedTest
  @MethodSource("cases")
  void aBurstFromTwoProcesses_grantsExactlyWhatFits_andSettlingChargesEveryActual(Dialect d, Dimension dim)
      throws Exception {
    List<Database> dbs = twoProcesses(d);
    try {
      List<BudgetStore> stores = dbs.stream().map(db -> new BudgetStore(db, Clock.systemUTC())).toList();
      BudgetCounter agent = dim.counter("agent/triage/today", LIMIT);
      List<Callable<Reservation>> reserves = new ArrayList<>();
      for (int i = 0; i < CALLS; i++) {
        BudgetStore store = stores.get(i % 2);
        reserves.add(() -> store.reserve(List.of(agent), dim.amount(ESTIMATE), HOLD));
      }
      List<Reservation> outcomes = runTogether(reserves);

      List<Reservation.Granted> granted = outcomes.stream()
          .flatMap(r -> r instanceof Reservation.Granted g ? Stream.of(g) : Stream.empty()).toList();
      assertThat(granted).hasSize((int) (LIMIT / ESTIMATE));
      assertThat(granted).extracting(Reservation.Granted::reservationId).doesNotHaveDuplicates();
      assertThat(granted).allSatisfy(g -> assertThat(dim.of(g.remainingTokensAndNano())).isBetween(0L, LIMIT - ESTIMATE));
      assertThat(outcomes).filteredOn(r -> r instanceof Reservation.Denied).allSatisfy(r ->
          assertThat(dim.of(((Reservation.Denied) r).usedAndReserved()) + ESTIMATE).isGreaterThan(LIMIT));
      CounterState held = stores.getFirst().counter(agent.key()).orElseThrow();
      assertThat(held.reserved()).isEqualTo(dim.amount(LIMIT));
      assertThat(held.used()).isEqualTo(Amount.ZERO);

      // Every granted call ends, from either process, using 50 to 150 tokens' worth.
      Random random = new Random(42);
      List<Callable<Amount>> settles = new ArrayList<>();
      for (int i = 0; i < granted.size(); i++) {
        Amount actual = dim.amount(50 + random.nextInt(101));
        BudgetStore store = stores.get(i % 2);
        long id = granted.get(i).reservationId();
        settles.add(() -> store.settle(id, actual) ? actual : Amount.ZERO);
      }
      List<Amount> charged = runTogether(settles);
      assertThat(charged).doesNotContain(Amount.ZERO);
      Amount total = charged.stream().reduce(Amount.ZERO, Amount::plus);
      CounterState after = stores.getLast().counter(agent.key()).orElseThrow();
      assertThat(after.used()).isEqualTo(total);
      assertThat(after.reserved()).isEqualTo(Amount.ZERO);
    } finally {
      dbs.forEach(Database::close);
    }
  }

  /** What one call did: its outcome and, when granted, what it used. */
  private record Call(String session, Reservation outcome, Amount actual) {}

  @ParameterizedTest
  @MethodSource("cases")
  void callsReservingAndSettlingAtOnce_neverGetMoreThanTheLimitAllows(Dialect d, Dimension dim) throws Exception {
    List<Database> dbs = twoProcesses(d);
    try {
      List<BudgetStore> stores = dbs.stream().map(db -> new BudgetStore(db, Clock.systemUTC())).toList();
      BudgetCounter agent = dim.counter("budget/daily/agent/triage", LIMIT);
      BudgetCounter team = dim.counter("budget/team/team/support", -1);
      Random random = new Random(7);
      List<Callable<Call>> calls = new ArrayList<>();
      for (int i = 0; i < CALLS; i++) {
        String session = "budget/session/session/s" + i;
        List<BudgetCounter> counters = new ArrayList<>(List.of(agent, team, dim.counter(session, 10 * ESTIMATE)));
        Collections.shuffle(counters, random); // reserve must lock in key order whatever it is given
        Amount actual = dim.amount(50 + random.nextInt(101));
        BudgetStore store = stores.get(i % 2);
        calls.add(() -> {
          Reservation r = store.reserve(counters, dim.amount(ESTIMATE), HOLD);
          if (r instanceof Reservation.Granted g) {
            assertThat(store.settle(g.reservationId(), actual)).isTrue();
            return new Call(session, r, actual);
          }
          return new Call(session, r, Amount.ZERO);
        });
      }
      List<Call> log = runTogether(calls);

      List<Call> granted = log.stream().filter(c -> c.outcome() instanceof Reservation.Granted).toList();
      assertThat(granted).isNotEmpty();
      // Each grant fitted when it was made: at most the limit was held or used at estimate or
      // less per call, so only the overruns of granted calls can take used past the limit.
      long chargedUpToEstimate = granted.stream().mapToLong(c -> Math.min(dim.of(c.actual()), ESTIMATE)).sum();
      assertThat(chargedUpToEstimate).isLessThanOrEqualTo(LIMIT);
      Amount total = granted.stream().map(Call::actual).reduce(Amount.ZERO, Amount::plus);
      BudgetStore store = stores.getFirst();
      for (BudgetCounter c : List.of(agent, team)) {
        assertThat(store.counter(c.key()).orElseThrow()).as(c.key())
            .extracting(CounterState::used, CounterState::reserved).containsExactly(total, Amount.ZERO);
      }
      for (Call c : log) {
        switch (c.outcome()) {
          case Reservation.Granted g -> assertThat(store.counter(c.session()).orElseThrow().used()).isEqualTo(c.actual());
          case Reservation.Denied denied -> {
            assertThat(denied.counter().key()).isEqualTo(agent.key());
            assertThat(dim.of(denied.usedAndReserved()) + ESTIMATE).isGreaterThan(LIMIT);
            assertThat(store.counter(c.session())).as("all or nothing: the denied call's session counter").isEmpty();
          }
        }
      }
    } finally {
      dbs.forEach(Database::close);
    }
  }
}
