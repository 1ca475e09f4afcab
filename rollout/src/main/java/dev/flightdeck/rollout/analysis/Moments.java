package dev.flightdeck.rollout.analysis;

/**
 * Count, sum and sum of squares of one metric's observations on one arm: all a test on means
 * needs, and what the gateway's per-second windows keep.
 */
public record Moments(long n, double sum, double sumSquares) {

  /** No observations. */
  public static final Moments EMPTY = new Moments(0, 0, 0);

  /** {@code successes} out of {@code n} yes/no observations (errors out of requests, say). */
  public static Moments bernoulli(long n, long successes) {
    return new Moments(n, successes, successes);
  }

  /** The mean, 0 with no observations. */
  public double mean() {
    return n == 0 ? 0 : sum / n;
  }

  /** The population variance, 0 with fewer than two observations. */
  public double variance() {
    if (n < 2) {
      return 0;
    }
    double m = mean();
    return Math.max(0, sumSquares / n - m * m);
  }

  /** These observations and {@code o}'s. */
  public Moments plus(Moments o) {
    return new Moments(n + o.n, sum + o.sum, sumSquares + o.sumSquares);
  }
}
