package dev.flightdeck.rollout.analysis;

/**
 * Always-valid confidence intervals for a mean: intervals that hold at every sample size at once,
 * so a controller may look after every request and stop whenever it likes without inflating its
 * error rate.
 *
 * <p>The boundary is Robbins' normal mixture (Robbins 1970) in the asymptotic form of
 * Waudby-Smith, Arnold, Wu and Ramdas, "Time-uniform central limit theory and asymptotic
 * confidence sequences" (Annals of Statistics, 2024), Theorem 2.2: with {@code n} observations of
 * estimated variance {@code σ²}, the mean lies within
 *
 * <pre>  σ · sqrt( 2(nρ² + 1) / (n²ρ²) · log( sqrt(nρ² + 1) / α ) )</pre>
 *
 * of the sample mean for every {@code n} simultaneously, with probability at least {@code 1 − α}
 * (two-sided; asymptotically, which is why callers demand a minimum sample). {@code ρ} only
 * shapes the boundary; it is chosen to make it tightest at a sample size {@code m} (Howard,
 * Ramdas, McAuliffe and Sekhon, "Time-uniform, nonparametric, nonasymptotic confidence
 * sequences", Annals of Statistics 2021, eq. 3.6): {@code ρ² = (−2 log α + log(−2 log α + 1)) / m}.
 */
public final class ConfidenceSequence {

  private ConfidenceSequence() {}

  /** The mixture parameter {@code ρ²} that makes the boundary tightest at {@code tuneAt} observations. */
  public static double rho2(double alpha, double tuneAt) {
    double l = -2 * Math.log(alpha);
    return (l + Math.log(l + 1)) / tuneAt;
  }

  /**
   * Half-width of the two-sided sequence at level {@code alpha} after {@code n} observations of
   * variance {@code variance}; infinite with no observations.
   */
  public static double halfWidth(long n, double variance, double alpha, double tuneAt) {
    if (n <= 0) {
      return Double.POSITIVE_INFINITY;
    }
    double r2 = rho2(alpha, tuneAt);
    double t = n;
    double radius = 2 * (t * r2 + 1) / (t * t * r2) * Math.log(Math.sqrt(t * r2 + 1) / alpha);
    return Math.sqrt(Math.max(0, variance)) * Math.sqrt(radius);
  }

  /** The interval {@code [low, high]} for a mean. */
  public record Bounds(double low, double high) {}

  /** The interval around the mean of {@code m} with the given variance. */
  public static Bounds bounds(Moments m, double variance, double alpha, double tuneAt) {
    double w = halfWidth(m.n(), variance, alpha, tuneAt);
    return new Bounds(m.mean() - w, m.mean() + w);
  }
}
