package dev.flightdeck.eval.stats;

/** Confidence intervals for a binomial proportion. */
public final class Proportions {
  private Proportions() {}

  /** Wilson score interval for successes out of n at the given two-sided confidence (e.g. 0.95); n=0 -> [0,1]. */
  public static Interval wilson(long successes, long n, double confidence) {
    double z = Quantiles.twoSidedZ(confidence);
    if (n < 0 || successes < 0 || successes > n) {
      throw new IllegalArgumentException("successes must be in [0, n], got " + successes + " of " + n);
    }
    if (n == 0) {
      return new Interval(0, 1);
    }
    double p = (double) successes / n;
    double z2n = z * z / n;
    double centre = (p + z2n / 2) / (1 + z2n);
    double half = z / (1 + z2n) * Math.sqrt(p * (1 - p) / n + z2n / (4.0 * n));
    // The exact ends at 0 and n successes are 0 and 1; rounding must not move them inwards.
    double low = successes == 0 ? 0 : centre - half;
    double high = successes == n ? 1 : centre + half;
    return new Interval(Math.max(0, low), Math.min(1, high));
  }
}
