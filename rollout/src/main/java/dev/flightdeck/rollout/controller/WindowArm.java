package dev.flightdeck.rollout.controller;

import dev.flightdeck.gateway.telemetry.LatencyHistogram;
import dev.flightdeck.gateway.telemetry.MetricMoments;
import dev.flightdeck.gateway.telemetry.WindowStats;
import dev.flightdeck.rollout.analysis.Arm;
import dev.flightdeck.rollout.analysis.Moments;

/** A version's gateway telemetry as analysis observations. */
public record WindowArm(WindowStats stats) implements Arm {

  @Override
  public Moments moments(String key) {
    return switch (key) {
      case ERRORS -> Moments.bernoulli(stats.requests(), stats.errors());
      case TOKENS -> new Moments(stats.withUsage(), stats.tokens(), stats.tokensSquared());
      case COST -> new Moments(stats.withCost(), stats.costUsd(), stats.costSquared());
      case SHADOW_DIVERGENCE -> Moments.bernoulli(stats.shadowRequests(), stats.shadowDifferent());
      default -> {
        MetricMoments m = stats.custom().get(key);
        yield m == null ? Moments.EMPTY : new Moments(m.count(), m.sum(), m.sumSquares());
      }
    };
  }

  @Override
  public LatencyHistogram latency() {
    return stats.latency();
  }
}
