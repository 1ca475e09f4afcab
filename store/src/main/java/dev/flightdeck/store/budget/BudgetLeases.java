package dev.flightdeck.store.budget;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
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
 * <p>Renewal ahead: when a call takes a lease past three quarters of its slice or of its age, a
 * background task leases the next slice, so calls on a busy counter never wait for the store: the
 * next slice is ready when the current one runs out. A counter is then briefly held by two slices
 * of this process, which the paragraph above counts as one more slice left unused near the limit.
 * Each lease's age limit is drawn between three quarters of {@code maxAge} and {@code maxAge}, so
 * the leases of counters first used together (a thousand sessions) are not renewed together.
 * Settling an ended lease in the store is background work too.
 *
 * <p>Store calls on the call path (a counter's first lease, a direct reservation) wait at most
 * {@code storeWait} for one of {@code storeSlots} places; beyond that {@link #reserve} throws
 * {@link Busy}, so an overloaded database sheds calls at once instead of queueing them.
 *
 * <p>Batches: direct reservations on one counter (a session's small budget, when the call's other
 * budgets are leased: the usual case) that wait for a slot meanwhile go to the store together, up
 * to {@link BudgetStore#MAX_ASKS_PER_STATEMENT} in one statement ({@link BudgetStore#reserveEach});
 * so do their settlements ({@link BudgetStore#settleEach}, on four slots of their own, waiting as
 * long as it takes). So when every call reserves in the store, a busy store is asked a fraction as
 * often; an idle one is asked once per call, as before. Leases, and their settlements, are not
 * batched: they are few, and the lease of a hot counter, which every call of an agent may be
 * waiting for, should neither wait behind other sessions' reservations nor have its row locked by
 * a longer statement. See {@link StoreBatches}.
 */
public final class BudgetLeases implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(BudgetLeases.class.getName());
  /** A slice must hold at least this many calls of the size asked, or the counter is not leased. */
  public static final int MIN_CALLS_PER_SLICE = 8;
  /** Settling statements at once; a settlement waits for one as long as it takes (it must not be dropped). */
  private static final int SETTLE_SLOTS = 4;

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
  private final LongAdder unbatchedReservations = new LongAdder();
  private final ExecutorService background;
  /** Direct reservations on one counter, batched. */
  private final StoreBatches<BudgetStore.Ask, Reservation> reserves;
  /** Settlements of direct reservations, batched. */
  private final StoreBatches<BudgetStore.Settlement, Boolean> settles;

  /**
   * @param idleFor a lease no call took from for this long is returned
   * @param maxAge a lease is returned this long after it was taken at the latest (and renewed on demand)
   * @param sliceDivisor a slice is the limit divided by this, on each limited dimension
   * @param storeSlots store calls on the call path at once
   * @param storeWait how long a call waits for one of those
   * @param background runs renewals ahead and the settling of ended leases; {@link #close} shuts it
   *     down and waits for it
   */
  public BudgetLeases(BudgetStore store, Clock clock, Duration idleFor, Duration maxAge, int sliceDivisor,
      int storeSlots, Duration storeWait, ExecutorService background) {
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
    this.background = background;
    this.reserves = new StoreBatches<>(this.storeSlots, BudgetStore.MAX_ASKS_PER_STATEMENT, a -> a.counter().key(),
        store::reserveEach);
    this.settles = new StoreBatches<>(new Semaphore(SETTLE_SLOTS), BudgetStore.MAX_ASKS_PER_STATEMENT,
        st -> st.granted().reservationId(), store::settleEach);
  }

  /** As above, with a virtual thread per background task. */
  public BudgetLeases(BudgetStore store, Clock clock, Duration idleFor, Duration maxAge, int sliceDivisor,
      int storeSlots, Duration storeWait) {
    this(store, clock, idleFor, maxAge, sliceDivisor, storeSlots, storeWait,
        Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("flightdeck-budget-lease-", 0).factory()));
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

    static Busy noSlotWithin(long waitNanos) {
      return new Busy("the budget store is busy: no answer slot within " + TimeUnit.NANOSECONDS.toMillis(waitNanos)
          + " ms");
    }

    static Busy interrupted() {
      return new Busy("interrupted while waiting for the budget store");
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
        Reservation r = direct.size() == 1 ? reserveOne(direct.get(0), asked, holdFor)
            : withStore(() -> store.reserve(direct, asked, holdFor));
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
      settles.submit(new BudgetStore.Settlement(held.direct(), actual), -1);
    }
    if (failed != null) {
      throw failed;
    }
  }

  /**
   * Ends leases that are due — unused for {@code idleFor} or older than their age limit — and puts
   * a counter's next slice, if one was leased ahead and is not due itself, in their place; an ended
   * lease is settled in the store once its last call has. Forgets idle counters. Call it every
   * second or so. Returns how many leases ended.
   */
  public int expire() {
    long now = clock.millis();
    List<Lease> ended = new ArrayList<>();
    for (Slot s : slots.values()) {
      synchronized (s) {
        if (s.current != null && s.current.due(now)) {
          ended.add(s.current);
          s.current = null;
        }
        if (s.current == null && s.next != null) {
          if (s.next.due(now)) {
            ended.add(s.next);
          } else {
            s.current = s.next;
          }
          s.next = null;
        }
        if (s.current == null && now >= s.directUntil && s.refill == null) {
          s.removed = true; // idle: forget it (a call that already holds it fetches a new one)
          slots.remove(s.key, s);
        }
      }
    }
    ended.forEach(Lease::end);
    return ended.size();
  }

  /** Leases asked of the store so far (granted or not). */
  public long leasesAsked() {
    return leased.sum();
  }

  /** Calls that asked the store for (part of) their reservation, since their counters were not leased. */
  public long directReservations() {
    return direct.sum();
  }

  /**
   * Times this process asked the store to reserve (leases and direct reservations), the
   * single-counter direct reservations that waited together counted once.
   */
  public long storeReservations() {
    return reserves.batches() + unbatchedReservations.sum();
  }

  /** Single-counter reservations waiting for the store now (for tests). */
  int waitingForStore() {
    return reserves.waiting();
  }

  /**
   * Ends every lease, and waits (up to 30 s) for background work: renewals in flight and the
   * settling of ended leases whose calls have all settled. A lease with calls still in flight is
   * settled when its last call settles.
   */
  @Override
  public void close() {
    List<Lease> ended = new ArrayList<>();
    for (Slot s : slots.values()) {
      synchronized (s) {
        s.removed = true;
        for (Lease l : new Lease[] {s.current, s.next}) {
          if (l != null) {
            ended.add(l);
          }
        }
        s.current = null;
        s.next = null;
      }
    }
    slots.clear();
    ended.forEach(Lease::end);
    background.shutdown();
    try {
      if (!background.awaitTermination(30, TimeUnit.SECONDS)) {
        LOG.log(System.Logger.Level.WARNING, "budgets: background lease work still running after 30 s; the store's"
            + " sweeper settles what it leaves when the leases' holds expire");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // A renewal that finished after the slots were cleared ended its own lease (see renewAhead).
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
   * Takes {@code asked} from this process's lease on {@code c} — the current one, else the next
   * slice leased ahead — leasing a slice now when there is none; null when the store has no whole
   * slice left (the call then goes to the store directly). Starts the renewal ahead when the lease
   * it took from is three quarters spent or old.
   */
  private Lease take(BudgetCounter c, Amount asked, Duration holdFor) {
    while (true) {
      Slot s = slots.computeIfAbsent(c.key(), Slot::new);
      List<Lease> ended = new ArrayList<>(1);
      Lease took = null;
      boolean renew = false;
      CompletableFuture<Void> wait = null;
      boolean leaseNow = false;
      synchronized (s) {
        if (s.removed) {
          continue;
        }
        long now = clock.millis();
        while (took == null) {
          if (s.current == null) {
            s.current = s.next;
            s.next = null;
            if (s.current == null) {
              break;
            }
          }
          Lease l = s.current;
          // A changed budget or a due lease needs a fresh one that reflects the store now; a lease
          // whose slice cannot hold this call has run out.
          if (!sameLimits(l.counter, c) || l.due(now) || !l.take(asked)) {
            ended.add(l);
            s.current = null;
            continue;
          }
          took = l;
          if (s.next == null && s.refill == null && now >= s.directUntil && l.renewalDue(now)) {
            s.refill = new CompletableFuture<>();
            renew = true;
          }
        }
        if (took == null && now >= s.directUntil) {
          wait = s.refill;
          if (wait == null) {
            s.refill = new CompletableFuture<>();
            leaseNow = true;
          }
        }
      }
      ended.forEach(Lease::end);
      if (took != null) {
        if (renew) {
          Amount slice = took.grant.reserved();
          later(() -> renewAhead(s, c, slice, holdFor), () -> refilled(s));
        }
        return took;
      }
      if (leaseNow) {
        return lease(s, c, asked, holdFor);
      }
      if (wait == null) {
        return null; // no whole slice left lately: call by call
      }
      wait.join(); // another call or the renewal ahead is leasing: use its slice
    }
  }

  /** Leases a new slice for {@code s} now (this call holds its refill) and takes {@code asked} from it. */
  private Lease lease(Slot s, BudgetCounter c, Amount asked, Duration holdFor) {
    try {
      Amount slice = slice(c, asked).orElseThrow();
      long created = clock.millis();
      Reservation r = leaseFromStore(c, slice, holdFor);
      Lease fresh = null;
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
      refilled(s);
    }
  }

  /**
   * In the background: leases the slice after the current one, so that calls go on from it without
   * waiting when the current one runs out or ages. Nothing is lost when it fails: the calls lease
   * on demand, as for a counter's first lease.
   */
  private void renewAhead(Slot s, BudgetCounter c, Amount slice, Duration holdFor) {
    Lease spare = null;
    try {
      long created = clock.millis();
      Reservation r = leaseFromStore(c, slice, holdFor);
      synchronized (s) {
        if (r instanceof Reservation.Granted g) {
          Lease fresh = new Lease(c, g, created);
          if (s.removed || s.next != null) {
            spare = fresh; // the counter was forgotten or closed meanwhile: give the slice back
          } else if (s.current == null) {
            s.current = fresh;
          } else {
            s.next = fresh;
          }
        } else {
          // No whole slice left: once the current lease runs out, calls go to the store one by one.
          s.directUntil = created + idleMillis;
        }
      }
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.DEBUG, "budgets: leasing ahead on " + c.key() + " failed; calls lease on demand", e);
    } finally {
      refilled(s);
    }
    if (spare != null) {
      spare.end();
    }
  }

  private Reservation leaseFromStore(BudgetCounter c, Amount slice, Duration holdFor) {
    leased.increment();
    // The lease's calls may start until it ends and then run for their own hold.
    return withStore(() -> store.reserve(List.of(c), slice, holdFor.plusMillis(maxAgeMillis)));
  }

  /**
   * Reserves {@code amount} on the one counter {@code c}, together with the other calls'
   * single-counter reservations waiting meanwhile ({@link BudgetStore#reserveEach}, batched by
   * {@link StoreBatches}).
   *
   * @throws Busy when no store slot freed within the wait and no other call took this reservation
   */
  private Reservation reserveOne(BudgetCounter c, Amount amount, Duration holdFor) {
    return reserves.submit(new BudgetStore.Ask(c, amount, holdFor), storeWaitNanos);
  }

  /** Ends the slot's refill: calls waiting for it look again. */
  private static void refilled(Slot s) {
    CompletableFuture<Void> done;
    synchronized (s) {
      done = s.refill;
      s.refill = null;
    }
    if (done != null) {
      done.complete(null);
    }
  }

  /** Runs {@code task} in the background, or {@code ifClosed} at once when this is closed. */
  private void later(Runnable task, Runnable ifClosed) {
    try {
      background.execute(task);
    } catch (RejectedExecutionException e) {
      ifClosed.run();
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
      throw Busy.interrupted();
    }
    if (!got) {
      throw Busy.noSlotWithin(storeWaitNanos);
    }
    try {
      unbatchedReservations.increment();
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
    /** The slice leased ahead, used when the current one runs out or ages. */
    Lease next;
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
    /** Its age limit: between three quarters of {@code maxAge} and {@code maxAge}, at random. */
    final long ageLimit;
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
      this.ageLimit = maxAgeMillis - ThreadLocalRandom.current().nextLong(maxAgeMillis / 4 + 1);
    }

    /** Whether it should end: unused for the idle period, or past its age limit. */
    synchronized boolean due(long now) {
      return now - lastTaken >= idleMillis || now - created >= ageLimit;
    }

    /** Whether the next slice should be leased: three quarters of this one taken, or of its age gone. */
    synchronized boolean renewalDue(long now) {
      Amount slice = grant.reserved();
      return counter.limitTokens() >= 0 && takenTokens * 4 >= slice.tokens() * 3
          || counter.limitNanoUsd() >= 0 && takenNano * 4 >= slice.nanoUsd() * 3
          || (now - created) * 4 >= ageLimit * 3;
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

    /** Ends it: no call takes from it any more; settled in the background once drained. */
    void end() {
      Amount flush;
      synchronized (this) {
        ended = true;
        flush = drained();
      }
      if (flush != null) {
        later(() -> flush(flush), () -> flush(flush));
      }
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
