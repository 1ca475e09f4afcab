package dev.flightdeck.rollout.analysis;

import dev.flightdeck.gateway.telemetry.LatencyHistogram;

/** One version's observations over the analysed period: what {@link Analysis} compares. */
public interface Arm {

  /** Key of the request error indicator (1 for an error, 0 otherwise, per request). */
  String ERRORS = "errors";
  /** Key of prompt plus completion tokens per request that reported usage. */
  String TOKENS = "tokens";
  /** Key of the cost per request that reported one. */
  String COST = "cost";
  /** Key of the shadow divergence indicator, per mirrored request. */
  String SHADOW_DIVERGENCE = "shadow-divergence";

  /** The moments of one metric: one of the keys above, or a custom metric's name. */
  Moments moments(String key);

  /** Latencies of the requests, in microseconds. */
  LatencyHistogram latency();
}
