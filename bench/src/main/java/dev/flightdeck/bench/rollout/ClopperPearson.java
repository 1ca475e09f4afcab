package dev.flightdeck.bench.rollout;

/** Exact (Clopper–Pearson) confidence intervals for a binomial proportion. */
final class ClopperPearson {

  private ClopperPearson() {}

  /** The two-sided interval {@code [low, high]} at {@code confidence} for {@code x} successes in {@code n}. */
  static double[] interval(long x, long n, double confidence) {
    double tail = (1 - confidence) / 2;
    // low: P(X >= x | p) = tail; high: P(X <= x | p) = tail. Both tails are monotone in p.
    double low = x == 0 ? 0 : bisect(p -> 1 - cdf(x - 1, n, p) - tail, true);
    double high = x == n ? 1 : bisect(p -> cdf(x, n, p) - tail, false);
    return new double[] {low, high};
  }

  /** P(Binomial(n, p) <= x), summed in log space. */
  static double cdf(long x, long n, double p) {
    if (x < 0) {
      return 0;
    }
    if (x >= n) {
      return 1;
    }
    double logP = Math.log(p);
    double logQ = Math.log1p(-p);
    double sum = 0;
    double logChoose = 0;
    for (long k = 0; k <= x; k++) {
      if (k > 0) {
        logChoose += Math.log((double) (n - k + 1) / k);
      }
      sum += Math.exp(logChoose + k * logP + (n - k) * logQ);
    }
    return Math.min(1, sum);
  }

  private static double bisect(java.util.function.DoubleUnaryOperator f, boolean increasing) {
    double lo = 0;
    double hi = 1;
    for (int i = 0; i < 100; i++) {
      double mid = (lo + hi) / 2;
      if ((f.applyAsDouble(mid) < 0) == increasing) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return (lo + hi) / 2;
  }
}
