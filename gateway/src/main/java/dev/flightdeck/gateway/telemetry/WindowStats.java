package dev.flightdeck.gateway.telemetry;

import java.util.Map;

/**
 * A version's traffic over a window, summed from per-second buckets: what the rollout
 * controller compares between stable and canary. The sums of squares give each mean its
 * variance, for sequential tests on means.
 *
 * @param requests requests answered (shadow requests not included)
 * @param errors requests that count as errors ({@link RequestRecord#isError()})
 * @param latency total latency of those requests
 * @param ttfb time to first byte of those requests
 * @param tokens prompt plus completion tokens reported
 * @param withUsage requests whose response reported usage
 * @param costUsd cost reported
 * @param shadowRequests mirrored requests answered by this version
 * @param shadowErrors mirrored requests that failed
 * @param shadowDifferent mirrored requests whose answer differed from the primary's
 * @param tokensSquared sum over the requests with usage of (prompt + completion tokens)²
 * @param withCost requests whose response reported a cost (0 included)
 * @param costSquared sum of the squares of those requests' costs
 * @param custom the custom metrics ({@code X-Flightdeck-Metric-<Name>} response headers) by
 *     lower-case name; empty when none was reported
 */
public record WindowStats(
    long requests,
    long errors,
    LatencyHistogram latency,
    LatencyHistogram ttfb,
    long tokens,
    long withUsage,
    double costUsd,
    long shadowRequests,
    long shadowErrors,
    long shadowDifferent,
    double tokensSquared,
    long withCost,
    double costSquared,
    Map<String, MetricMoments> custom) {

  /** Makes {@code custom} an immutable copy. */
  public WindowStats {
    custom = Map.copyOf(custom);
  }

  /** Errors per request, or 0 with no requests. */
  public double errorRate() {
    return requests == 0 ? 0 : (double) errors / requests;
  }

  /** Mean tokens per request that reported usage, or 0. */
  public double tokensPerRequest() {
    return withUsage == 0 ? 0 : (double) tokens / withUsage;
  }

  /** Mean cost per request that reported a cost, or 0. */
  public double costPerRequest() {
    return withCost == 0 ? 0 : costUsd / withCost;
  }

  /** One custom metric's moments, or {@link MetricMoments#EMPTY} when it was not reported. */
  public MetricMoments metric(String name) {
    return custom.getOrDefault(name, MetricMoments.EMPTY);
  }
}
