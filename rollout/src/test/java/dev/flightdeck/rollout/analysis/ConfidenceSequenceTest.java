package dev.flightdeck.rollout.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Scale;
import org.junit.jupiter.api.Test;

class ConfidenceSequenceTest {

  // Reference values computed independently (Python; the proportions with mpmath, integrating the
  // Beta mixture numerically and solving M_n(p) = 1/α with 40 significant digits).

  @Test
  void rho2_isHowardEtAlEquation36() {
    // (−2 log 0.05 + log(−2 log 0.05 + 1)) / 100
    assertThat(ConfidenceSequence.rho2(0.05, 100)).isCloseTo(0.07936154601737565, within(1e-15));
  }

  @Test
  void halfWidth_matchesTheFormulaAtHandComputedPoints() {
    assertThat(ConfidenceSequence.halfWidth(100, 1, 0.05, 100)).isCloseTo(0.3035208990376253, within(1e-12));
    assertThat(ConfidenceSequence.halfWidth(1000, 0.25, 0.01, 400)).isCloseTo(0.057103388200238483, within(1e-12));
  }

  @Test
  void halfWidth_isInfiniteWithoutObservations_andScalesWithTheStandardDeviation() {
    assertThat(ConfidenceSequence.halfWidth(0, 1, 0.05, 100)).isInfinite();
    assertThat(ConfidenceSequence.halfWidth(500, 4, 0.05, 100))
        .isCloseTo(2 * ConfidenceSequence.halfWidth(500, 1, 0.05, 100), within(1e-12));
  }

  @Property(tries = 200)
  void halfWidth_shrinksAsObservationsGrow(@ForAll @LongRange(min = 1, max = 10_000_000) long n,
      @ForAll @DoubleRange(min = 1e-4, max = 0.2) @Scale(6) double alpha, @ForAll @DoubleRange(min = 1, max = 1e5) double tuneAt) {
    assertThat(ConfidenceSequence.halfWidth(n + 1, 1, alpha, tuneAt))
        .isLessThan(ConfidenceSequence.halfWidth(n, 1, alpha, tuneAt));
  }

  @Test
  void proportion_matchesTheBetaBinomialMixtureComputedIndependently() {
    assertBounds(ConfidenceSequence.proportion(3, 50, 0.05, 100), 0.00247535547186695, 0.214388118566196);
    assertBounds(ConfidenceSequence.proportion(20, 1000, 0.0025, 400), 0.00659676246857407, 0.0426850538034498);
    assertBounds(ConfidenceSequence.proportion(0, 220, 0.0025, 400), 0, 0.036506188352812);
  }

  private static void assertBounds(ConfidenceSequence.Bounds b, double low, double high) {
    assertThat(b.low()).isCloseTo(low, within(1e-9));
    assertThat(b.high()).isCloseTo(high, within(1e-9));
  }

  @Test
  void proportion_isEverythingWithoutObservations_andReachesTheEndsOnlyAtThem() {
    assertThat(ConfidenceSequence.proportion(0, 0, 0.05, 100)).isEqualTo(new ConfidenceSequence.Bounds(0, 1));
    ConfidenceSequence.Bounds all = ConfidenceSequence.proportion(500, 500, 0.05, 100);
    assertThat(all.high()).isEqualTo(1);
    assertThat(all.low()).isBetween(0.95, 1.0);
  }

  @Property(tries = 300)
  void proportion_containsTheSampleProportion_andItsEndsGrowWithTheSuccesses(
      @ForAll @IntRange(min = 1, max = 200_000) int n, @ForAll @DoubleRange(min = 0, max = 1) @Scale(6) double share,
      @ForAll @DoubleRange(min = 1e-4, max = 0.2) @Scale(6) double alpha) {
    double s = share * n;
    ConfidenceSequence.Bounds b = ConfidenceSequence.proportion(s, n, alpha, 400);
    assertThat(b.low()).isLessThanOrEqualTo(share + 1e-12);
    assertThat(b.high()).isGreaterThanOrEqualTo(share - 1e-12);
    ConfidenceSequence.Bounds more = ConfidenceSequence.proportion(Math.min(n, s + 1), n, alpha, 400);
    assertThat(more.low()).isGreaterThanOrEqualTo(b.low() - 1e-12);
    assertThat(more.high()).isGreaterThanOrEqualTo(b.high() - 1e-12);
  }

  @Property(tries = 300)
  void accepted_isTheSetOfSamplesWhoseIntervalContainsP(@ForAll @IntRange(min = 1, max = 100_000) int n,
      @ForAll @DoubleRange(min = 0.001, max = 0.999) @Scale(6) double p, @ForAll @DoubleRange(min = 0, max = 1) @Scale(6) double share,
      @ForAll @DoubleRange(min = 1e-4, max = 0.2) @Scale(6) double alpha) {
    ConfidenceSequence.Bounds acc = ConfidenceSequence.accepted(p, n, alpha, 400);
    ConfidenceSequence.Bounds ci = ConfidenceSequence.proportion(share * n, n, alpha, 400);
    // Away from the edges (within 1e-7), membership agrees.
    double margin = 1e-7;
    if (share > acc.low() + margin && share < acc.high() - margin) {
      assertThat(p).isBetween(ci.low(), ci.high());
    } else if (share < acc.low() - margin || share > acc.high() + margin) {
      assertThat(p < ci.low() || p > ci.high()).as("p %s outside %s", p, ci).isTrue();
    }
  }

  @Test
  void logGamma_isAccurate() {
    assertThat(ConfidenceSequence.logGamma(0.5)).isCloseTo(0.5723649429247004, within(1e-13));
    assertThat(ConfidenceSequence.logGamma(1)).isCloseTo(0, within(1e-13));
    assertThat(ConfidenceSequence.logGamma(3.7)).isCloseTo(1.4280723266653883, within(1e-13));
    assertThat(ConfidenceSequence.logGamma(10)).isCloseTo(12.801827480081467, within(1e-13));
    assertThat(ConfidenceSequence.logGamma(123.25)).isCloseTo(468.6144829505166, within(1e-11));
    assertThat(ConfidenceSequence.logGamma(1e6)).isCloseTo(12815504.569147611, within(1e-7));
  }

  // Coverage: streams with a known mean, looked at after every observation; the share of streams
  // whose interval ever excludes the mean must stay at or below α. A pointwise interval, checked
  // the same way, fails far more often, which shows the check can fail.

  private static final int STREAMS = 2000;
  private static final int STEPS = 2000;
  private static final double ALPHA = 0.05;

  @Test
  void normalMixture_withKnownVariance_coversAGaussianStreamAtEveryStep() {
    double[] width = new double[STEPS + 1];
    for (int n = 1; n <= STEPS; n++) {
      width[n] = ConfidenceSequence.halfWidth(n, 1, ALPHA, 100);
    }
    assertThat(gaussianMisses(width, 1)).isLessThanOrEqualTo(ALPHA);
  }

  @Test
  void pointwiseInterval_doesNotCoverAtEveryStep() {
    double[] width = new double[STEPS + 1];
    for (int n = 1; n <= STEPS; n++) {
      width[n] = 1.959963984540054 / Math.sqrt(n);
    }
    assertThat(gaussianMisses(width, 1)).isGreaterThan(4 * ALPHA);
  }

  @Test
  void normalMixture_withEstimatedVariance_coversFromTheMinimumSample() {
    SplittableRandom rng = new SplittableRandom(11);
    int misses = 0;
    for (int s = 0; s < STREAMS; s++) {
      double sum = 0;
      double sumSquares = 0;
      for (int n = 1; n <= STEPS; n++) {
        double x = 3 + 2 * rng.nextGaussian();
        sum += x;
        sumSquares += x * x;
        if (n >= 100) {
          Moments m = new Moments(n, sum, sumSquares);
          if (Math.abs(m.mean() - 3) > ConfidenceSequence.halfWidth(n, m.variance(), ALPHA, 400)) {
            misses++;
            break;
          }
        }
      }
    }
    assertThat((double) misses / STREAMS).isLessThanOrEqualTo(ALPHA);
  }

  private static double gaussianMisses(double[] width, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    int misses = 0;
    for (int s = 0; s < STREAMS; s++) {
      double sum = 0;
      for (int n = 1; n <= STEPS; n++) {
        sum += rng.nextGaussian();
        if (Math.abs(sum / n) > width[n]) {
          misses++;
          break;
        }
      }
    }
    return (double) misses / STREAMS;
  }

  @Test
  void betaBinomialMixture_coversRareAndCommonEventsAtEveryStep() {
    for (double p : new double[] {0.02, 0.5}) {
      // p lies in the interval exactly when the sample proportion is in the accepted range.
      double[] low = new double[STEPS + 1];
      double[] high = new double[STEPS + 1];
      for (int n = 1; n <= STEPS; n++) {
        ConfidenceSequence.Bounds a = ConfidenceSequence.accepted(p, n, ALPHA, 100);
        low[n] = a.low() * n;
        high[n] = a.high() * n;
      }
      SplittableRandom rng = new SplittableRandom(7);
      int misses = 0;
      for (int s = 0; s < STREAMS; s++) {
        int successes = 0;
        for (int n = 1; n <= STEPS; n++) {
          successes += rng.nextDouble() < p ? 1 : 0;
          if (successes < low[n] || successes > high[n]) {
            misses++;
            break;
          }
        }
      }
      assertThat((double) misses / STREAMS).as("p = %s", p).isLessThanOrEqualTo(ALPHA);
    }
  }
}
