package dev.flightdeck.gateway.telemetry;

/**
 * A log-linear histogram of durations in microseconds: four buckets per power of two from 1 µs
 * to about 9 hours, so any quantile is within 19% of the true value. Not thread-safe.
 */
public final class LatencyHistogram {

  /** Number of buckets. */
  public static final int BUCKETS = 4 * 36;

  private final long[] counts = new long[BUCKETS];
  private long total;

  /** The bucket of a duration in microseconds. */
  public static int bucketOf(long micros) {
    if (micros < 4) {
      return (int) Math.max(0, micros);
    }
    int log = 63 - Long.numberOfLeadingZeros(micros);
    int sub = (int) ((micros >>> (log - 2)) & 3);
    return Math.min(BUCKETS - 1, log * 4 + sub - 4);
  }

  /** The upper bound, in microseconds, of a bucket. */
  public static long upperBound(int bucket) {
    if (bucket < 4) {
      return bucket;
    }
    int log = (bucket + 4) / 4;
    int sub = (bucket + 4) % 4;
    return ((4L + sub + 1) << (log - 2)) - 1;
  }

  /** Records a duration. */
  public void record(long micros) {
    counts[bucketOf(micros)]++;
    total++;
  }

  /** Adds another histogram's counts. */
  public void add(LatencyHistogram other) {
    for (int i = 0; i < BUCKETS; i++) {
      counts[i] += other.counts[i];
    }
    total += other.total;
  }

  /** Adds a count to a bucket (when reading stored windows). */
  public void add(int bucket, long count) {
    counts[bucket] += count;
    total += count;
  }

  /** The count in a bucket. */
  public long count(int bucket) {
    return counts[bucket];
  }

  /** Values recorded. */
  public long total() {
    return total;
  }

  /** The {@code q} quantile (0..1) in microseconds: a bucket's upper bound; 0 when empty. */
  public long quantile(double q) {
    if (total == 0) {
      return 0;
    }
    long rank = (long) Math.ceil(q * total);
    long seen = 0;
    for (int i = 0; i < BUCKETS; i++) {
      seen += counts[i];
      if (seen >= Math.max(1, rank)) {
        return upperBound(i);
      }
    }
    return upperBound(BUCKETS - 1);
  }

  void clear() {
    java.util.Arrays.fill(counts, 0);
    total = 0;
  }
}
