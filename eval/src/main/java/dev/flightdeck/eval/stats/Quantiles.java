package dev.flightdeck.eval.stats;

import org.apache.commons.statistics.distribution.NormalDistribution;
import org.apache.commons.statistics.distribution.TDistribution;

/** Normal and Student's t quantiles, and validation of confidence levels. */
final class Quantiles {
  private static final NormalDistribution STANDARD_NORMAL = NormalDistribution.of(0, 1);

  private Quantiles() {}

  /** The standard normal quantile at {@code p}. */
  static double normal(double p) {
    return STANDARD_NORMAL.inverseCumulativeProbability(p);
  }

  /** Student's t quantile at {@code p} with {@code df} degrees of freedom. */
  static double t(double p, double df) {
    return TDistribution.of(df).inverseCumulativeProbability(p);
  }

  /** The z of a two-sided interval at {@code confidence}, e.g. 1.96 for 0.95. */
  static double twoSidedZ(double confidence) {
    requireOpenUnit(confidence, "confidence");
    return normal(1 - (1 - confidence) / 2);
  }

  static void requireOpenUnit(double x, String what) {
    if (!(x > 0 && x < 1)) {
      throw new IllegalArgumentException(what + " must be strictly between 0 and 1, got " + x);
    }
  }
}
