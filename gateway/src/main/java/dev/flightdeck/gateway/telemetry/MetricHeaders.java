package dev.flightdeck.gateway.telemetry;

import java.util.HashMap;
import java.util.Map;

/**
 * Custom metrics an agent reports in response headers: {@code X-Flightdeck-Metric-Tool-Errors: 2}
 * is one observation of 2 for the metric {@code tool-errors}. Whatever the upstream sends, what
 * is kept is bounded: at most {@value #MAX_METRICS} names of at most {@value #MAX_NAME}
 * characters from {@code [a-z0-9._-]}, with decimal values of magnitude at most
 * {@value #MAX_VALUE}; anything else is ignored. Never throws.
 */
public final class MetricHeaders {

  /** The lower-case prefix of a metric header's name. */
  public static final String PREFIX = "x-flightdeck-metric-";
  /** Most distinct metrics kept per response, and per version and second. */
  public static final int MAX_METRICS = 16;
  /** Longest metric name. */
  public static final int MAX_NAME = 64;
  /** Largest magnitude of a value: its square, and sums of squares, stay finite. */
  public static final double MAX_VALUE = 1e15;
  private static final int MAX_VALUE_TEXT = 64;

  private MetricHeaders() {}

  /**
   * Adds one response header to a response's metrics, if it is a valid metric header.
   *
   * @param metrics the metrics so far: {@code Map.of()} for none, else a map this method returned
   * @param lowerCaseName the header's name in ASCII lower case
   * @param value the header's value
   * @return {@code metrics}, or a new mutable map holding them and this header's metric; a
   *     repeated name adds its value to the one before
   */
  public static Map<String, Double> add(Map<String, Double> metrics, String lowerCaseName, String value) {
    if (!lowerCaseName.startsWith(PREFIX) || !validName(lowerCaseName, PREFIX.length())) {
      return metrics;
    }
    double v = parse(value);
    if (Double.isNaN(v)) {
      return metrics;
    }
    String name = lowerCaseName.substring(PREFIX.length());
    Double before = metrics.get(name);
    if (before == null && metrics.size() >= MAX_METRICS) {
      return metrics;
    }
    double sum = before == null ? v : before + v;
    if (Math.abs(sum) > MAX_VALUE) {
      return metrics;
    }
    Map<String, Double> out = metrics instanceof HashMap<String, Double> m ? m : new HashMap<>(metrics);
    out.put(name, sum);
    return out;
  }

  /** Whether {@code s} from {@code start} on is 1 to {@value #MAX_NAME} characters of {@code [a-z0-9._-]}. */
  static boolean validName(String s, int start) {
    int n = s.length() - start;
    if (n < 1 || n > MAX_NAME) {
      return false;
    }
    for (int i = start; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
        return false;
      }
    }
    return true;
  }

  /** A decimal number of magnitude at most {@link #MAX_VALUE}, or NaN. */
  static double parse(String text) {
    if (text == null) {
      return Double.NaN;
    }
    String t = text.strip();
    if (t.isEmpty() || t.length() > MAX_VALUE_TEXT) {
      return Double.NaN;
    }
    // Decimal only: Double.parseDouble would also take "NaN", "Infinity", hex and "1d".
    for (int i = 0; i < t.length(); i++) {
      char c = t.charAt(i);
      if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')) {
        return Double.NaN;
      }
    }
    try {
      double v = Double.parseDouble(t);
      return Math.abs(v) <= MAX_VALUE ? v : Double.NaN;
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }
}
