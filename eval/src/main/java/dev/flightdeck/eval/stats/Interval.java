package dev.flightdeck.eval.stats;

/** A two-sided interval. */
public record Interval(double low, double high) {

  /** Validates that both ends are numbers and {@code low <= high}. */
  public Interval {
    if (Double.isNaN(low) || Double.isNaN(high) || low > high) {
      throw new IllegalArgumentException("an interval needs low <= high, got [" + low + ", " + high + "]");
    }
  }

  /** Whether {@code x} lies in the closed interval. */
  public boolean contains(double x) {
    return low <= x && x <= high;
  }

  /** {@code centre ± halfWidth}, clipped to {@code [min, max]}. */
  static Interval around(double centre, double halfWidth, double min, double max) {
    return new Interval(
        Math.max(min, Math.min(max, centre - halfWidth)), Math.min(max, Math.max(min, centre + halfWidth)));
  }
}
