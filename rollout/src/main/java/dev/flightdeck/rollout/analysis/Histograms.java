package dev.flightdeck.rollout.analysis;

import dev.flightdeck.gateway.telemetry.LatencyHistogram;

/**
 * Quantiles and exceedance shares of a {@link LatencyHistogram}, interpolated linearly inside
 * buckets as Prometheus' {@code histogram_quantile} does: the durations in a bucket are taken as
 * spread evenly over it. The two functions are inverses: {@code shareAbove(h, quantile(h, p)) = 1 − p}.
 */
final class Histograms {

  private Histograms() {}

  /**
   * The interpolated {@code p} quantile in microseconds; 0 when {@code p ≤ 0} or the histogram
   * is empty, infinite when {@code p ≥ 1} (no finite bound).
   */
  static double quantile(LatencyHistogram h, double p) {
    long n = h.total();
    if (n == 0 || p <= 0) {
      return 0;
    }
    if (p >= 1) {
      return Double.POSITIVE_INFINITY;
    }
    double rank = p * n;
    long seen = 0;
    for (int b = 0; b < LatencyHistogram.BUCKETS; b++) {
      long c = h.count(b);
      if (c > 0 && seen + c >= rank) {
        return low(b) + (rank - seen) / c * width(b);
      }
      seen += c;
    }
    return low(LatencyHistogram.BUCKETS - 1) + width(LatencyHistogram.BUCKETS - 1);
  }

  /** The interpolated share of durations above {@code micros}; 0 when empty or {@code micros} is infinite. */
  static double shareAbove(LatencyHistogram h, double micros) {
    long n = h.total();
    if (n == 0 || micros == Double.POSITIVE_INFINITY) {
      return 0;
    }
    double above = 0;
    for (int b = 0; b < LatencyHistogram.BUCKETS; b++) {
      long c = h.count(b);
      if (c > 0) {
        above += c * Math.clamp((low(b) + width(b) - micros) / width(b), 0.0, 1.0);
      }
    }
    return above / n;
  }

  /** The smallest duration, in microseconds, in a bucket: it covers {@code [low, low + width)}. */
  static long low(int bucket) {
    return bucket == 0 ? 0 : LatencyHistogram.upperBound(bucket - 1) + 1;
  }

  static long width(int bucket) {
    return LatencyHistogram.upperBound(bucket) + 1 - low(bucket);
  }
}
