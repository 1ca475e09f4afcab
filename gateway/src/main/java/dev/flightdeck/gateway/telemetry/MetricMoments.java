package dev.flightdeck.gateway.telemetry;

/**
 * Count, sum and sum of squares of one custom metric over a window: enough for its mean and
 * variance, and for a sequential test on the mean.
 *
 * @param count observations (one per request that reported the metric)
 * @param sum sum of the observed values
 * @param sumSquares sum of the squares of the observed values
 */
public record MetricMoments(long count, double sum, double sumSquares) {

  /** No observations. */
  public static final MetricMoments EMPTY = new MetricMoments(0, 0, 0);

  /** Checks that the count is not negative. */
  public MetricMoments {
    if (count < 0) {
      throw new IllegalArgumentException("a metric's observation count must be 0 or more, not " + count);
    }
  }

  /** The mean of the observations, or 0 with none. */
  public double mean() {
    return count == 0 ? 0 : sum / count;
  }

  /** The population variance of the observations, or 0 with fewer than two. */
  public double variance() {
    if (count < 2) {
      return 0;
    }
    double mean = sum / count;
    // Rounding can take E[x²] - mean² a hair below zero when every value is the same.
    return Math.max(0, sumSquares / count - mean * mean);
  }
}
