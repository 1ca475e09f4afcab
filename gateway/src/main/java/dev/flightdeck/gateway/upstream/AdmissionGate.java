package dev.flightdeck.gateway.upstream;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * Admission control without threads waiting: at most {@code limit} requests in flight; up to
 * {@code maxQueue} more wait (as callbacks, not threads) at most {@code queueTimeout}; the rest
 * are rejected at once. A released slot goes to the oldest waiter.
 */
public final class AdmissionGate {

  private final int limit;
  private final int maxQueue;
  private final long queueTimeoutNanos;
  private final Scheduler scheduler;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger queued = new AtomicInteger();
  private final ConcurrentLinkedQueue<Waiter> waiters = new ConcurrentLinkedQueue<>();

  /** A gate; {@code scheduler} times out waiters. */
  public AdmissionGate(int limit, int maxQueue, long queueTimeoutNanos, Scheduler scheduler) {
    this.limit = limit;
    this.maxQueue = maxQueue;
    this.queueTimeoutNanos = queueTimeoutNanos;
    this.scheduler = scheduler;
  }

  /**
   * Admits a request now or later, or rejects it.
   *
   * @param admitted runs once the request holds a slot, with the nanoseconds it waited; the
   *     caller must {@link #release()} the slot when the request ends
   * @param rejected runs when the queue is full or the wait timed out
   */
  public void acquire(LongConsumer admitted, Runnable rejected) {
    if (tryTake()) {
      admitted.accept(0);
      return;
    }
    if (queued.incrementAndGet() > maxQueue) {
      queued.decrementAndGet();
      rejected.run();
      return;
    }
    Waiter w = new Waiter(admitted, System.nanoTime());
    waiters.add(w);
    w.timeout = scheduler.schedule(() -> {
      if (w.claimed.compareAndSet(false, true)) {
        queued.decrementAndGet();
        waiters.remove(w);
        rejected.run();
      }
    }, queueTimeoutNanos, TimeUnit.NANOSECONDS);
    drain(); // a slot may have been freed between tryTake and add
  }

  /** Frees a slot and hands it to the oldest waiter, if any. */
  public void release() {
    inFlight.decrementAndGet();
    drain();
  }

  /** Requests holding a slot. */
  public int inFlight() {
    return inFlight.get();
  }

  /** Requests waiting for a slot. */
  public int queued() {
    return queued.get();
  }

  /** The most requests that may wait. */
  public int maxQueue() {
    return maxQueue;
  }

  /** How long a request may wait, in nanoseconds. */
  public long queueTimeoutNanos() {
    return queueTimeoutNanos;
  }

  /** The concurrency limit. */
  public int limit() {
    return limit;
  }

  /** Seconds a rejected client should wait before trying again (at least 1). */
  public long retryAfterSeconds() {
    return Math.max(1, (queueTimeoutNanos + 999_999_999L) / 1_000_000_000L);
  }

  private void drain() {
    while (!waiters.isEmpty() && tryTake()) {
      Waiter w = waiters.poll();
      if (w == null) {
        inFlight.decrementAndGet();
        if (waiters.isEmpty()) {
          return;
        }
        continue;
      }
      if (w.claimed.compareAndSet(false, true)) {
        queued.decrementAndGet();
        if (w.timeout != null) {
          w.timeout.cancel();
        }
        w.admitted.accept(System.nanoTime() - w.since);
      } else {
        inFlight.decrementAndGet();
      }
    }
  }

  private boolean tryTake() {
    while (true) {
      int n = inFlight.get();
      if (n >= limit) {
        return false;
      }
      if (inFlight.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  private static final class Waiter {
    final LongConsumer admitted;
    final long since;
    final AtomicBoolean claimed = new AtomicBoolean();
    volatile Scheduler.Task timeout;

    Waiter(LongConsumer admitted, long since) {
      this.admitted = admitted;
      this.since = since;
    }
  }
}
