package dev.flightdeck.bench.budget;

import dev.flightdeck.store.Database;
import dev.flightdeck.store.budget.Amount;
import dev.flightdeck.store.budget.BudgetCounter;
import dev.flightdeck.store.budget.BudgetStore;
import dev.flightdeck.store.budget.CounterState;
import dev.flightdeck.store.budget.Reservation;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Budgeted calls per second through one process on a hot counter: each thread reserves an
 * estimate on the counters of one agent, then settles it, as the gateway does around every model
 * call. Prints calls/s (a call is a reserve and a settle) and the reserve latency p50/p99, the
 * wait for a pooled connection included, with commits that wait for the WAL flush (the server's
 * {@code synchronous_commit}) and without (BudgetStore's default); checks afterwards that the
 * counter holds exactly what was charged. The figures in BudgetStore's comment come from:
 *
 * <pre>
 * ./mvnw -q -pl bench -am package -DskipTests
 * java -cp bench/target/benchmarks.jar dev.flightdeck.bench.budget.HotCounterBench 32 15 1   # java 21+
 * java -cp bench/target/benchmarks.jar dev.flightdeck.bench.budget.HotCounterBench 32 15 4
 * </pre>
 * Arguments: THREADS (32), SECONDS measured after 3 of warm-up (20), COUNTERS (1).
 * COUNTERS 1: only the agent's daily counter; 4: also the session's (one per thread, cold), the
 * version's and the team's. PostgreSQL: {@code FLIGHTDECK_BENCH_PG_URL} (default the local
 * server's database {@code test}).
 */
public final class HotCounterBench {

  private static final String PG_URL = System.getenv().getOrDefault("FLIGHTDECK_BENCH_PG_URL",
      "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
  private static final Amount ESTIMATE = new Amount(1_000, 2_000_000);
  private static final Amount ACTUAL = new Amount(900, 1_800_000);

  private HotCounterBench() {}

  /** Runs both settings, each with a warm-up, and prints one Markdown table row per setting. */
  public static void main(String[] args) throws Exception {
    int threads = args.length > 0 ? Integer.parseInt(args[0]) : 32;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    int counters = args.length > 2 ? Integer.parseInt(args[2]) : 1;
    System.out.println("| synchronous_commit | threads | counters | calls/s | reserve p50 ms | reserve p99 ms |");
    System.out.println("|---|---|---|---|---|---|");
    for (boolean sync : List.of(true, false)) {
      try (Database db = Database.postgres(freshSchema())) {
        run(db, sync, threads, 3, counters); // warm-up: JIT, server-side prepared statements
        Result r = run(db, sync, threads, seconds, counters);
        System.out.printf(Locale.ROOT, "| %s | %d | %d | %.0f | %.2f | %.2f |%n", sync ? "on" : "off", threads, counters,
            r.calls / r.seconds, r.p50Millis, r.p99Millis);
      }
    }
  }

  private record Result(long calls, double seconds, double p50Millis, double p99Millis) {}

  private static Result run(Database db, boolean sync, int threads, int seconds, int counterCount) throws Exception {
    BudgetStore store = new BudgetStore(db, Clock.systemUTC(), sync);
    String run = UUID.randomUUID().toString().substring(0, 8);
    long limit = 1L << 60;
    BudgetCounter agentDay = new BudgetCounter("budget/daily/agent/triage/" + run, "daily", limit, limit, Long.MAX_VALUE);
    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch go = new CountDownLatch(1);
    long[][] latencies = new long[threads][];
    AtomicReference<Throwable> failure = new AtomicReference<>();
    int[] counts = new int[threads];
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int me = t;
      List<BudgetCounter> counters = counterCount == 1 ? List.of(agentDay) : List.of(agentDay,
          new BudgetCounter("budget/session/session/" + run + "-" + me, "session", limit, -1, Long.MAX_VALUE),
          new BudgetCounter("budget/version/version/triage-v7/" + run, "version", limit, -1, Long.MAX_VALUE),
          new BudgetCounter("budget/team/team/support/" + run, "team", -1, limit, Long.MAX_VALUE));
      workers.add(Thread.ofPlatform().name("budget-" + t).uncaughtExceptionHandler((th, e) -> failure.set(e)).start(() -> {
        long[] lat = new long[1 << 16];
        int n = 0;
        try {
          go.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        while (!stop.get() && failure.get() == null) {
          long start = System.nanoTime();
          Reservation r = store.reserve(counters, ESTIMATE, Duration.ofMinutes(5));
          long reserved = System.nanoTime();
          if (!(r instanceof Reservation.Granted g) || !store.settle(g.reservationId(), ACTUAL)) {
            throw new IllegalStateException("unexpected " + r);
          }
          if (n == lat.length) {
            lat = Arrays.copyOf(lat, n * 2);
          }
          lat[n++] = reserved - start;
        }
        latencies[me] = Arrays.copyOf(lat, n);
        counts[me] = n;
      }));
    }
    long start = System.nanoTime();
    go.countDown();
    Thread.sleep(seconds * 1000L);
    stop.set(true);
    for (Thread w : workers) {
      w.join();
    }
    if (failure.get() != null) {
      throw new IllegalStateException("a worker failed", failure.get());
    }
    double elapsed = (System.nanoTime() - start) / 1e9;
    long calls = Arrays.stream(counts).asLongStream().sum();
    long[] all = Arrays.stream(latencies).flatMapToLong(Arrays::stream).sorted().toArray();
    CounterState s = store.counter(agentDay.key()).orElseThrow();
    if (!s.used().equals(new Amount(ACTUAL.tokens() * calls, ACTUAL.nanoUsd() * calls)) || !s.reserved().equals(Amount.ZERO)) {
      throw new IllegalStateException("after " + calls + " calls the counter holds " + s);
    }
    return new Result(calls, elapsed, all[all.length / 2] / 1e6, all[(int) (all.length * 0.99)] / 1e6);
  }

  private static String freshSchema() throws Exception {
    String schema = "bench_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c = DriverManager.getConnection(PG_URL)) {
      c.createStatement().execute("CREATE SCHEMA " + schema);
    }
    return PG_URL + (PG_URL.contains("?") ? "&" : "?") + "currentSchema=" + schema;
  }
}
