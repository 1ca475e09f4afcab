package dev.flightdeck.gateway.telemetry;

/**
 * A version's traffic over a window, summed from per-second buckets: what the rollout
 * controller compares between stable and canary.
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
    long shadowDifferent) {

  /** Errors per request, or 0 with no requests. */
  public double errorRate() {
    return requests == 0 ? 0 : (double) errors / requests;
  }

  /** Mean tokens per request that reported usage, or 0. */
  public double tokensPerRequest() {
    return withUsage == 0 ? 0 : (double) tokens / withUsage;
  }
}
