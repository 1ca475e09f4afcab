package dev.flightdeck.rollout.analysis;

import dev.flightdeck.gateway.telemetry.LatencyHistogram;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** An arm built by hand or from simulated requests. */
final class TestArm implements Arm {

  private final Map<String, Moments> moments = new HashMap<>();
  private final LatencyHistogram latency = new LatencyHistogram();
  private long requests;
  private long errors;

  static TestArm errors(long requests, long errors) {
    return new TestArm().with(Arm.ERRORS, Moments.bernoulli(requests, errors));
  }

  /** {@code n} observations of mean {@code mean} and (population) standard deviation {@code sd}. */
  static TestArm values(String key, long n, double mean, double sd) {
    return new TestArm().with(key, new Moments(n, n * mean, n * (sd * sd + mean * mean)));
  }

  /** {@code n} lognormal latencies of median {@code medianMs} and log-sd {@code sigma}, times {@code factor}. */
  static TestArm latencies(long seed, int n, double medianMs, double sigma, double factor) {
    TestArm a = new TestArm();
    SplittableRandom rng = new SplittableRandom(seed);
    for (int i = 0; i < n; i++) {
      a.latency.record(Math.round(medianMs * 1000 * factor * Math.exp(sigma * rng.nextGaussian())));
    }
    return a;
  }

  TestArm with(String key, Moments m) {
    moments.put(key, m);
    return this;
  }

  /** Records one request. */
  void record(boolean error, long micros) {
    requests++;
    errors += error ? 1 : 0;
    latency.record(micros);
  }

  @Override
  public Moments moments(String key) {
    if (requests > 0 && key.equals(Arm.ERRORS)) {
      return Moments.bernoulli(requests, errors);
    }
    return moments.getOrDefault(key, Moments.EMPTY);
  }

  @Override
  public LatencyHistogram latency() {
    return latency;
  }
}
