package dev.flightdeck.store.budget;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Budget reservations that take the database off the hot path: this process leases a slice of a
 * counter's allowance from the {@link BudgetStore} with one statement, then grants calls from the
 * slice in memory, and returns what it did not use when the lease ends.
 *
 * <p>Why: with {@link BudgetStore} alone every call of an agent updates that agent's day counter
 * (and its team's) twice, and those rows' locks serialise every gateway's calls (PostgreSQL
 * backends spent half their time waiting on them at 800 calls/s; see
 * docs/model-gateway-benchmark.md). A lease is one reservation in the store, so the store's
 * guarantee carries over: the slices of every process and the reservations of direct calls sum to
 * at most the limit, and each process grants from its slice only what fits in it. Hence, as
 * before, the sum over granted calls of min(actual, reserved) never exceeds a limit.
 *
 * <p>When a counter is leased: only when a slice ({@code limit / sliceDivisor} on each limited
 * dimension) holds at least {@link #MIN_CALLS_PER_SLICE} calls of the size asked. Small budgets
 * (a session's 20,000 tokens) and large calls therefore go to the store call by call, exactly as
 * without leases. A counter whose remaining allowance cannot give a whole slice is not leased again
 * until {@code idleFor} passes, so the last part of every budget is granted call by call.
 *
 * <p>What it costs: allowance leased by one process is not available to another until that lease
 * ends. A lease ends when its slice runs out, when no call took from it for {@code idleFor} (5 s
 * by default), or at the latest {@code maxAge} (1 min) after it was taken, and is settled with
 * what its calls used as soon as its last call settles. A lease in use is not stranded: its own
 * process is spending it. So near its limit a call can be denied while up to one slice per other
 * process is leased and unused (for at most about {@code idleFor}), plus, per lease whose calls are still in flight, what was left of it (less
 * than one call's ask); it is never granted beyond the limit. When a process dies with a lease, the
 * store's sweeper charges the whole slice when the lease's hold expires: spend is over-counted,
 * never under-counted.
 *
 * <p>Store calls on the call path (a new lease, a direct reservation) wait at most
 * {@code storeWait} for one of {@code storeSlots} places; beyond that {@link #reserve} throws
 * {@link Busy}, so an overloaded database sheds calls at once instead of queueing them.
 */
public final class BudgetLeases implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(BudgetLeases.class.getName());
  /** A slice must hold at least this many calls of the size asked, or the counter is not leased. */
  public static final int MIN_CALLS_PER_SLICE = 8;

  private final BudgetStore store;
  private final Clock clock;
  private final long idleMillis;
  private final long maxAgeMillis;
  private final int sliceDivisor;
  private final Semaphore storeSlots;
  private final long storeWaitNanos;
  private final Map<String, Slot> slots = new ConcurrentHashMap<>();
  private final LongAdder leased = new LongAdder();
  private final LongAdder direct = new LongAdder();

  /**
   * @param idleFor a lease no call took from for this long is returned
   * @param maxAge a lease is returned this long after it was taken at the latest (and renewed on demand)
   * @param sliceDivisor a slice is the limit divided by this, on each limited dimension
   * @param storeSlots store calls on the call path at once
   * @param storeWait how long a call waits for one of those
   */
  public BudgetLeases(BudgetStore store, Clock clock, Duration idleFor, Duration maxAge, int sliceDivisor,
      int storeSlots, Duration storeWait) {
    if (!idleFor.isPositive() || !maxAge.isPositive() || sliceDivisor < 1 || storeSlots < 1 || storeWait.isNegative()) {
      throw new IllegalArgumentException("budget leases: expected positive idle and age limits, slice divisor and store"
          + " slots, got " + idleFor + ", " + maxAge + ", " + sliceDivisor + ", " + storeSlots);
    }
    this.store = store;
    this.clock = clock;
    this.idleMillis = idleFor.toMillis();
    this.maxAgeMillis = maxAge.toMillis();
    this.sliceDivisor = sliceDivisor;
    this.storeSlots = new Semaphore(storeSlots);
    this.storeWaitNanos = storeWait.toNanos();
  }

  /**
   * Leases returned after 5 s unused or 1 min in all, slices of 1/64 of a limit, 12 store calls at
   * once (of a pool of 16 connections: settling and sweeping keep the rest), waits of at most 5 s.
   */
  public BudgetLeases(BudgetStore store, Clock clock) {
    this(store, clock, Duration.ofSeconds(5), Duration.ofMinutes(1), 64, 12, Duration.ofSeconds(5));
  }

  /** What {@link #reserve} decided. */
  public sealed interface Result permits Held, Refused {}

  /**
   * Granted on every counter: from this process's leases ({@code leased}) and, for the counters
   * that are not leased, by a reservation in the store ({@code direct}, or null). Settle it once
   * with {@link #settle}.
   *
   * @param remaining the smallest allowance left per dimension, as far as this process knows; -1
   *     where no counter has a limit
   */
  public record Held(List<Lease> leased, Reservation.Granted direct, Amount asked, Amount remaining) implements Result {}

  /** Denied by the store; nothing is held. */
  public record Refused(Reservation.Denied denied) implements Result {}

  /** The store was too busy to answer within the wait; nothing is held. */
  public static final class Busy extends RuntimeException {
    Busy(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * Reserves {@code asked} on every counter, all or nothing, as {@link BudgetStore#reserve} does.
   *
   * @throws Busy when the store did not answer within the wait
   */
  public Result reserve(List<BudgetCounter> counters, Amount asked, Duration holdFor) {
    List<BudgetCounter> sorted = new ArrayList<>(counters);
    sorted.sort((a, b) -> BudgetStore.KEY_ORDER.compare(a.key(), b.key()));
    List<Lease> leased = new ArrayList<>();
    List<BudgetCounter> direct = new ArrayList<>();
    try {
      for (BudgetCounter c : sorted) {
        Lease l = slice(c, asked).isPresent() ? take(c, asked, holdFor) : null;
        if (l != null) {
          leased.add(l);
        } else {
          direct.add(c);
        }
      }
      Reservation.Granted grant = null;
      if (!direct.isEmpty()) {
        this.direct.increment();
        Reservation r = withStore(() -> store.reserve(direct, asked, holdFor));
        if (r instanceof Reservation.Denied d) {
          release(leased, asked);
          return new Refused(d);
        }
        grant = (Reservation.Granted) r;
      }
      return new Held(List.copyOf(leased), grant, asked, remaining(leased, grant));
    } catch (RuntimeException e) {
      release(leased, asked);
      throw e;
    }
  }

  /**
   * Settles a held reservation with what the call used: the leased part in memory (the lease is
   * settled in the store once it has ended and its last call settled), the direct part in the store.
   */
  public void settle(Held held, Amount actual) {
    RuntimeException failed = null;
    for (Lease l : held.leased()) {
      try {
        l.settleCall(held.asked(), actual);
      } catch (RuntimeException e) {
        failed = e;
      }
    }
    if (held.direct() != null) {
      store.settle(held.direct(), actual);
    }
    if (failed != null) {
      throw failed;
    }
  }

  /**
   * Ends leases that are due — unused for {@code idleFor} or older than {@code maxAge} — settling
   * those without calls in flight, and forgets idle counters; call it every second or so. Returns
   * how many leases ended.
   */
  public int expire() {
    long now = clock.millis();
    int ended = 0;
    for (Slot s : slots.values()) {
      Lease old;
      synchronized (s) {
        old = s.current;
        if (old == null || !old.due(now)) {
          if (old == null && now >= s.directUntil && s.refill == null) {
            s.removed = true; // idle: forget it (a call that already holds it fetches a new one)
            slots.remove(s.key, s);
          }
          continue;
        }
        s.current = null;
      }
      old.end();
      ended++;
    }
    return ended;
  }

  /** Leases asked of the store so far (granted or not). */
  public long leasesAsked() {
    return leased.sum();
  }

  /** Calls that asked the store for (part of) their reservation, since their counters were not leased. */
  public long directReservations() {
    return direct.sum();
  }

  /** Ends every lease (each is settled once its last call settles). */
  @Override
  public void close() {
    for (Slot s : slots.values()) {
      Lease old;
      synchronized (s) {
        old = s.current;
        s.current = null;
      }
      if (old != null) {
        old.end();
      }
    }
  }

  /** The slice a lease on {@code c} would take, or empty when it would hold too few calls of {@code asked}. */
  private Optional<Amount> slice(BudgetCounter c, Amount asked) {
    long tokens = c.limitTokens() < 0 ? 0 : c.limitTokens() / sliceDivisor;
    long nano = c.limitNanoUsd() < 0 ? 0 : c.limitNanoUsd() / sliceDivisor;
    boolean fits = (c.limitTokens() < 0 || tokens >= MIN_CALLS_PER_SLICE * asked.tokens())
        && (c.limitNanoUsd() < 0 || nano >= MIN_CALLS_PER_SLICE * asked.nanoUsd());
    return fits ? Optional.of(new Amount(tokens, nano)) : Optional.empty();
  }

  /**
   * Takes {@code asked} from this process's lease on {@code c}, leasing a new slice when there is
   * none or it ran out; null when the store has no whole slice left (the call then goes to the
   * store directly).
   */
  private Lease take(BudgetCounter c, Amount asked, Duration holdFor) {
    while (true) {
      Slot s = slots.computeIfAbsent(c.key(), Slot::new);
      Lease ended = null;
      CompletableFuture<Void> wait;
      synchronized (s) {
        if (s.removed) {
          continue;
        }
        long now = clock.millis();
        Lease l = s.current;
        if (l != null && (!sameLimits(l.counter, c) || l.due(now))) {
          ended = l; // the budget changed, or the lease is due: a fresh one reflects the store now
          s.current = null;
          l = null;
        }
        if (l != null && l.take(asked)) {
          return l;
        }
        if (l != null) {
          ended = l; // its slice ran out
          s.current = null;
        }
        if (now < s.directUntil) {
          endOutside(ended);
          return null;
        }
        wait = s.refill;
        if (wait == null) {
          s.refill = new CompletableFuture<>();
        }
      }
      endOutside(ended);
      if (wait != null) {
        wait.join(); // another call is leasing: use its slice
        continue;
      }
      return lease(s, c, asked, holdFor);
    }
  }

  /** Leases a new slice for {@code s} (this call holds its refill) and takes {@code asked} from it. */
  private Lease lease(Slot s, BudgetCounter c, Amount asked, Duration holdFor) {
    Lease fresh = null;
    try {
      Amount slice = slice(c, asked).orElseThrow();
      long created = clock.millis();
      // The lease's calls may start until it ends and then run for their own hold.
      leased.increment();
      Reservation r = withStore(() -> store.reserve(List.of(c), slice, holdFor.plusMillis(maxAgeMillis)));
      synchronized (s) {
        if (r instanceof Reservation.Granted g) {
          fresh = new Lease(c, g, created);
          fresh.take(asked);
          s.current = fresh;
        } else {
          s.directUntil = created + idleMillis; // no whole slice left: call by call for a while
        }
      }
      return fresh;
    } finally {
      CompletableFuture<Void> done;
      synchronized (s) {
        done = s.refill;
        s.refill = null;
      }
      done.complete(null);
    }
  }

  /**
   * Whether a lease taken for {@code leased} serves {@code now}: the same budget and limits. The
   * expiry is left out: a session's moves with every call, and the lease's own renewal extends it.
   */
  private static boolean sameLimits(BudgetCounter leased, BudgetCounter now) {
    return leased.limitTokens() == now.limitTokens() && leased.limitNanoUsd() == now.limitNanoUsd()
        && leased.budget().equals(now.budget());
  }

  private static void endOutside(Lease ended) {
    if (ended != null) {
      ended.end();
    }
  }

  private static void release(List<Lease> leased, Amount asked) {
    for (Lease l : leased) {
      l.settleCall(asked, Amount.ZERO);
    }
  }

  private <T> T withStore(Supplier<T> op) {
    boolean got;
    try {
      got = storeSlots.tryAcquire(storeWaitNanos, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Busy("interrupted while waiting for the budget store");
    }
    if (!got) {
      throw new Busy("the budget store is busy: no answer slot within " + TimeUnit.NANOSECONDS.toMillis(storeWaitNanos)
          + " ms");
    }
    try {
      return op.get();
    } finally {
      storeSlots.release();
    }
  }

  private static Amount remaining(List<Lease> leased, Reservation.Granted direct) {
    long tokens = -1;
    long nano = -1;
    List<Amount> lefts = new ArrayList<>();
    for (Lease l : leased) {
      lefts.add(l.remaining());
    }
    if (direct != null) {
      lefts.add(direct.remainingTokensAndNano());
    }
    for (Amount a : lefts) {
      if (a.tokens() >= 0) {
        tokens = tokens < 0 ? a.tokens() : Math.min(tokens, a.tokens());
      }
      if (a.nanoUsd() >= 0) {
        nano = nano < 0 ? a.nanoUsd() : Math.min(nano, a.nanoUsd());
      }
    }
    return new Amount(tokens, nano);
  }

  /** A counter's lease in this process, if any, and whether one is being taken. */
  private static final class Slot {
    final String key;
    Lease current;
    CompletableFuture<Void> refill;
    /** Until then calls on this counter go to the store directly (it had no whole slice left). */
    long directUntil;
    /** Dropped from the map by {@link #expire}: never lease through it again. */
    boolean removed;

    Slot(String key) {
      this.key = key;
    }
  }

  /**
   * A slice of one counter's allowance, held in the store as one reservation. {@code taken} is
   * what its calls in flight reserved plus what its settled calls used; once it has ended and its
   * last call settled, the store's reservation is settled with that.
   */
  public final class Lease {
    final BudgetCounter counter;
    final Reservation.Granted grant;
    final long created;
    private long takenTokens;
    private long takenNano;
    private int inFlight;
    private long lastTaken;
    private boolean ended;
    private boolean settled;

    Lease(BudgetCounter counter, Reservation.Granted grant, long created) {
      this.counter = counter;
      this.grant = grant;
      this.created = created;
      this.lastTaken = created;
    }

    /** Whether it should end: unused for the idle period, or older than the maximum age. */
    synchronized boolean due(long now) {
      return now - lastTaken >= idleMillis || now - created >= maxAgeMillis;
    }

    synchronized boolean take(Amount asked) {
      Amount slice = grant.reserved();
      if (ended
          || counter.limitTokens() >= 0 && takenTokens + asked.tokens() > slice.tokens()
          || counter.limitNanoUsd() >= 0 && takenNano + asked.nanoUsd() > slice.nanoUsd()) {
        return false;
      }
      takenTokens += asked.tokens();
      takenNano += asked.nanoUsd();
      inFlight++;
      lastTaken = clock.millis();
      return true;
    }

    void settleCall(Amount asked, Amount actual) {
      Amount flush;
      synchronized (this) {
        takenTokens += actual.tokens() - asked.tokens();
        takenNano += actual.nanoUsd() - asked.nanoUsd();
        inFlight--;
        flush = drained();
      }
      flush(flush);
    }

    void end() {
      Amount flush;
      synchronized (this) {
        ended = true;
        flush = drained();
      }
      flush(flush);
    }

    /** What to settle the store's reservation with, once ended and drained (only once); else null. */
    private Amount drained() {
      if (!ended || inFlight > 0 || settled) {
        return null;
      }
      settled = true;
      return new Amount(Math.max(0, takenTokens), Math.max(0, takenNano));
    }

    private void flush(Amount used) {
      if (used == null) {
        return;
      }
      if (!store.settle(grant, used)) {
        LOG.log(System.Logger.Level.WARNING, "budgets: the lease on {0} was already settled at its full slice"
            + " (its hold expired before its calls ended)", counter.key());
      }
    }

    /** The counter's allowance left as far as this process knows: the store's at lease time plus the unused slice. */
    synchronized Amount remaining() {
      Amount atGrant = grant.remainingTokensAndNano();
      Amount slice = grant.reserved();
      return new Amount(atGrant.tokens() < 0 ? -1 : Math.max(0, atGrant.tokens() + slice.tokens() - takenTokens),
          atGrant.nanoUsd() < 0 ? -1 : Math.max(0, atGrant.nanoUsd() + slice.nanoUsd() - takenNano));
    }

    /** The counter this lease is a slice of. */
    public String counterKey() {
      return counter.key();
    }
  }
}
