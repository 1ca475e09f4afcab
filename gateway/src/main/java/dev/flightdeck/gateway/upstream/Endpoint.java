package dev.flightdeck.gateway.upstream;

import java.net.URI;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One replica of an agent version, with the live state balancing and passive outlier ejection
 * need: requests in flight, failures in a row, and until when it is ejected.
 */
public final class Endpoint {

  private final URI base;
  private final String origin;
  private final String pathPrefix;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger consecutiveFailures = new AtomicInteger();
  private volatile long ejectedUntilNanos;
  private volatile int ejections;

  /** An endpoint at {@code url} ({@code http(s)://host:port[/prefix]}). */
  public Endpoint(String url) {
    URI u = URI.create(url);
    this.base = u;
    this.origin = u.getScheme() + "://" + u.getRawAuthority();
    String p = u.getRawPath() == null ? "" : u.getRawPath();
    this.pathPrefix = p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
  }

  /** The URL as configured. */
  public URI base() {
    return base;
  }

  /** The upstream URL for a path (starting with /) and raw query (or null). */
  public String target(String path, String rawQuery) {
    StringBuilder sb = new StringBuilder(origin.length() + pathPrefix.length() + path.length() + 16);
    sb.append(origin).append(pathPrefix).append(path);
    if (rawQuery != null && !rawQuery.isEmpty()) {
      sb.append('?').append(rawQuery);
    }
    return sb.toString();
  }

  /** Requests now in flight to this endpoint. */
  public int inFlight() {
    return inFlight.get();
  }

  void begin() {
    inFlight.incrementAndGet();
  }

  void end() {
    inFlight.decrementAndGet();
  }

  /** Whether it is ejected at {@code nowNanos}. */
  public boolean ejected(long nowNanos) {
    long until = ejectedUntilNanos;
    return until != 0 && nowNanos - until < 0;
  }

  void succeeded() {
    if (consecutiveFailures.get() != 0) {
      consecutiveFailures.set(0);
    }
    if (ejectedUntilNanos != 0 && !ejected(System.nanoTime())) {
      ejectedUntilNanos = 0;
      ejections = 0;
    }
  }

  /** Records a failure; returns the failures in a row. */
  int failed() {
    return consecutiveFailures.incrementAndGet();
  }

  void eject(long nowNanos, long baseNanos) {
    int n = Math.min(ejections, 6);
    ejections = ejections + 1;
    ejectedUntilNanos = nowNanos + (baseNanos << n);
    consecutiveFailures.set(0);
  }

  @Override
  public String toString() {
    return base.toString();
  }
}
