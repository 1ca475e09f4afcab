package dev.flightdeck.bench.rollout;

import dev.flightdeck.gateway.telemetry.LatencyHistogram;
import dev.flightdeck.rollout.analysis.Arm;
import dev.flightdeck.rollout.analysis.Moments;

/** One version's simulated requests: the error indicator's moments and a real latency histogram. */
final class SimulatedArm implements Arm {

  private long requests;
  private long errors;
  private final LatencyHistogram latency = new LatencyHistogram();

  void record(boolean error, long micros) {
    requests++;
    if (error) {
      errors++;
    }
    latency.record(micros);
  }

  @Override
  public Moments moments(String key) {
    return Arm.ERRORS.equals(key) ? Moments.bernoulli(requests, errors) : Moments.EMPTY;
  }

  @Override
  public LatencyHistogram latency() {
    return latency;
  }
}
