package dev.flightdeck.gateway.upstream;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A circuit breaker per agent version. Closed: requests pass, failures in a row are counted.
 * After {@code threshold} of them it opens: requests fail fast with {@code circuit_open} for
 * {@code openFor}. Then it is half-open: one probe passes; its success closes the circuit, its
 * failure opens it again.
 */
public final class CircuitBreaker {

  /** The breaker's states. */
  public enum State { CLOSED, OPEN, HALF_OPEN }

  private final int threshold;
  private final long openForNanos;
  private final AtomicInteger failures = new AtomicInteger();
  /** 0 when closed; otherwise the nanoTime the circuit opened at. */
  private final AtomicLong openedAt = new AtomicLong();
  private final AtomicInteger probes = new AtomicInteger();

  /** A breaker that opens after {@code threshold} failures in a row, for {@code openForNanos}. */
  public CircuitBreaker(int threshold, long openForNanos) {
    this.threshold = threshold;
    this.openForNanos = openForNanos;
  }

  /** The state now. */
  public State state() {
    long at = openedAt.get();
    if (at == 0) {
      return State.CLOSED;
    }
    return System.nanoTime() - at < openForNanos ? State.OPEN : State.HALF_OPEN;
  }

  /** Whether a request may go to the upstream now; a true answer in half-open takes the probe. */
  public boolean tryAcquire() {
    long at = openedAt.get();
    if (at == 0) {
      return true;
    }
    if (System.nanoTime() - at < openForNanos) {
      return false;
    }
    return probes.compareAndSet(0, 1);
  }

  /** Records the upstream's answer to a request {@link #tryAcquire} let through. */
  public void record(boolean upstreamFailed) {
    if (!upstreamFailed) {
      if (openedAt.get() != 0) {
        openedAt.set(0);
        probes.set(0);
      }
      if (failures.get() != 0) {
        failures.set(0);
      }
      return;
    }
    long at = openedAt.get();
    if (at != 0) {
      // The half-open probe failed: open again for a full period.
      openedAt.set(System.nanoTime() | 1);
      probes.set(0);
    } else if (failures.incrementAndGet() >= threshold) {
      failures.set(0);
      openedAt.compareAndSet(0, System.nanoTime() | 1);
    }
  }

  /** Seconds until a probe is let through (at least 1), for Retry-After. */
  public long retryAfterSeconds() {
    long at = openedAt.get();
    long left = at == 0 ? 0 : openForNanos - (System.nanoTime() - at);
    return Math.max(1, (left + 999_999_999L) / 1_000_000_000L);
  }
}
