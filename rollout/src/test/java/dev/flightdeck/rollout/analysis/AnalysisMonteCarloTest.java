package dev.flightdeck.rollout.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Small rollouts on simulated traffic, evaluated every simulated second as the controller would:
 * 20 canary and 180 stable requests a second, 2% errors, lognormal latencies (median 400 ms, σ
 * 0.5). The full benchmark is {@code bench/rollout/simulate.sh}.
 */
class AnalysisMonteCarloTest {

  private static final AnalysisSpec SPEC = AnalysisTest.spec("{\"alpha\": 0.01, \"minSamples\": 100, \"metrics\": ["
      + "{\"name\": \"errorRate\", \"maxIncrease\": 0.01}, {\"name\": \"latencyP95\", \"maxRatio\": 1.2}]}");

  /** The second the analysis failed, -1 if it passed or was still waiting after {@code seconds}. */
  private static int secondsToFail(SplittableRandom rng, int seconds, double canaryErrors, double canaryLatency) {
    TestArm stable = new TestArm();
    TestArm canary = new TestArm();
    for (int t = 1; t <= seconds; t++) {
      requests(rng, stable, 180, 0.02, 1);
      requests(rng, canary, 20, canaryErrors, canaryLatency);
      Verdict v = Analysis.evaluate(SPEC, stable, canary).verdict();
      if (v == Verdict.FAIL) {
        return t;
      }
      if (v == Verdict.PASS) {
        return -1;
      }
    }
    return -1;
  }

  private static void requests(SplittableRandom rng, TestArm arm, int n, double errors, double latency) {
    for (int i = 0; i < n; i++) {
      arm.record(rng.nextDouble() < errors, Math.round(400_000 * latency * Math.exp(0.5 * rng.nextGaussian())));
    }
  }

  @Test
  void aaRollouts_areRarelyRolledBack() {
    SplittableRandom rng = new SplittableRandom(2024);
    int rollbacks = 0;
    for (int i = 0; i < 300; i++) {
      rollbacks += secondsToFail(rng.split(), 180, 0.02, 1) > 0 ? 1 : 0;
    }
    // With a false rollback rate of at most α = 1%, P(Binomial(300, 0.01) ≥ 15) = 5.3e-7.
    assertThat(rollbacks).isLessThan(15);
  }

  @Test
  void anErrorRegression_isRolledBackWithinAMinute() {
    SplittableRandom rng = new SplittableRandom(7);
    for (int i = 0; i < 20; i++) {
      assertThat(secondsToFail(rng.split(), 60, 0.10, 1)).as("rollout %d", i).isBetween(5, 60);
    }
  }

  @Test
  void aLatencyRegression_isRolledBackWithinTwoMinutes() {
    SplittableRandom rng = new SplittableRandom(8);
    for (int i = 0; i < 20; i++) {
      assertThat(secondsToFail(rng.split(), 120, 0.02, 1.5)).as("rollout %d", i).isBetween(5, 120);
    }
  }
}
