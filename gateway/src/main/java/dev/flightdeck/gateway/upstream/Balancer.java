package dev.flightdeck.gateway.upstream;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks an endpoint of a version: least requests in flight between two random healthy replicas
 * (the "power of two choices" Envoy and Finagle use), skipping replicas passive outlier
 * detection has ejected. Failures in a row eject a replica for a while, doubling each time,
 * but never more than {@code maxEjectedPercent} of them at once.
 */
public final class Balancer {

  private final Endpoint[] endpoints;
  private final int ejectAfter;
  private final long ejectForNanos;
  private final int maxEjected;

  /** A balancer over {@code endpoints}. */
  public Balancer(List<Endpoint> endpoints, int ejectAfter, long ejectForNanos, int maxEjectedPercent) {
    this.endpoints = endpoints.toArray(Endpoint[]::new);
    this.ejectAfter = ejectAfter;
    this.ejectForNanos = ejectForNanos;
    this.maxEjected = endpoints.size() * maxEjectedPercent / 100;
  }

  /** The endpoints. */
  public List<Endpoint> endpoints() {
    return List.of(endpoints);
  }

  /**
   * Chooses an endpoint and counts a request in flight on it, or returns null when there is none.
   *
   * @param avoid an endpoint to skip when another is available (the one a retry failed on)
   */
  public Endpoint acquire(Endpoint avoid) {
    int n = endpoints.length;
    if (n == 0) {
      return null;
    }
    Endpoint chosen;
    if (n == 1) {
      chosen = endpoints[0];
    } else {
      long now = System.nanoTime();
      ThreadLocalRandom rnd = ThreadLocalRandom.current();
      int i = rnd.nextInt(n);
      int j = (i + 1 + rnd.nextInt(n - 1)) % n; // two different starting points
      Endpoint a = healthyFrom(i, now, avoid);
      Endpoint b = healthyFrom(j, now, avoid);
      chosen = a.inFlight() <= b.inFlight() ? a : b;
    }
    chosen.begin();
    return chosen;
  }

  private Endpoint healthyFrom(int start, long now, Endpoint avoid) {
    int n = endpoints.length;
    for (int i = 0; i < n; i++) {
      Endpoint e = endpoints[(start + i) % n];
      if (e != avoid && !e.ejected(now)) {
        return e;
      }
    }
    return endpoints[start];
  }

  /** Ends a request on {@code e}; {@code upstreamFailed} when the replica failed it. */
  public void release(Endpoint e, boolean upstreamFailed) {
    e.end();
    if (!upstreamFailed) {
      e.succeeded();
      return;
    }
    if (e.failed() >= ejectAfter && endpoints.length > 1) {
      long now = System.nanoTime();
      int ejected = 0;
      for (Endpoint other : endpoints) {
        if (other.ejected(now)) {
          ejected++;
        }
      }
      if (ejected < maxEjected) {
        e.eject(now, ejectForNanos);
      }
    }
  }
}
