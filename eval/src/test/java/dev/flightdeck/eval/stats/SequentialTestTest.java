package dev.flightdeck.eval.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class SequentialTestTest {

  /** A plan and one full sequence of maxRuns outcomes. */
  record Plan(double threshold, double alpha, int minRuns, int maxRuns, List<Boolean> outcomes) {
    SequentialTest test() {
      return SequentialTest.of(threshold, alpha, minRuns, maxRuns);
    }

    /** The fixed-N verdict on the whole sequence, by its definition: passes / runs >= threshold. */
    Decision fixedVerdict() {
      long passes = outcomes.stream().filter(b -> b).count();
      return (double) passes / maxRuns >= threshold ? Decision.PASS : Decision.FAIL;
    }
  }

  @Provide
  Arbitrary<Plan> plans() {
    Arbitrary<Double> thresholds = Arbitraries.integers().between(0, 100).map(pct -> pct / 100.0);
    Arbitrary<Double> alphas = Arbitraries.of(0.01, 0.05, 0.1, 0.2);
    return Combinators.combine(thresholds, alphas, Arbitraries.integers().between(1, 80),
            Arbitraries.doubles().between(0, 1))
        .flatAs((t, a, max, rate) -> Combinators.combine(
                Arbitraries.integers().between(0, max),
                Arbitraries.doubles().between(0, 1).map(u -> u < rate).list().ofSize(max))
            .as((min, outcomes) -> new Plan(t, a, min, max, outcomes)));
  }

  /** Runs the adaptive plan on a prefix of the sequence until it decides. */
  private static SequentialTest.Step runAdaptive(SequentialTest test, List<Boolean> outcomes, int[] used) {
    int passes = 0;
    for (int runs = 0; ; runs++) {
      SequentialTest.Step step = test.step(passes, runs);
      if (step.decision() != Decision.CONTINUE) {
        used[0] = runs;
        return step;
      }
      passes += outcomes.get(runs) ? 1 : 0;
    }
  }

  @Property(tries = 1000)
  void curtailmentGivesExactlyTheFixedVerdict(@ForAll("plans") Plan plan) {
    int[] used = new int[1];
    SequentialTest.Step step = runAdaptive(plan.test(), plan.outcomes(), used);

    assertThat(used[0]).isLessThanOrEqualTo(plan.maxRuns());
    if (step.basis() == SequentialTest.Basis.CURTAILED) {
      assertThat(step.decision()).isEqualTo(plan.fixedVerdict());
    } else {
      assertThat(step.basis()).isEqualTo(SequentialTest.Basis.SEQUENTIAL);
      assertThat(used[0]).isGreaterThanOrEqualTo(plan.minRuns()).isLessThan(plan.maxRuns());
    }
  }

  @Property(tries = 500)
  void decisionAtMaxRunsIsTheFixedRule(@ForAll("plans") Plan plan) {
    long passes = plan.outcomes().stream().filter(b -> b).count();

    assertThat(plan.test().decide((int) passes, plan.maxRuns())).isEqualTo(plan.fixedVerdict());
  }

  @Test
  void requiredPassesIsTheDecimalCeiling_notTheBinaryOne() {
    assertThat(0.07 * 100).isGreaterThan(7); // why it matters
    assertThat(SequentialTest.of(0.07, 0.05, 0, 100).requiredPasses()).isEqualTo(7);
    assertThat(SequentialTest.of(0.14, 0.05, 0, 100).requiredPasses()).isEqualTo(14);
    assertThat(SequentialTest.of(0.7, 0.05, 0, 50).requiredPasses()).isEqualTo(35);
    assertThat(SequentialTest.of(0.7, 0.05, 0, 51).requiredPasses()).isEqualTo(36);
    assertThat(SequentialTest.of(0.57, 0.05, 0, 100).requiredPasses()).isEqualTo(57);
    SequentialTest t = SequentialTest.of(0.07, 0.05, 100, 100);
    assertThat(t.decide(7, 100)).isEqualTo(Decision.PASS);
    assertThat(t.decide(7, 50)).isEqualTo(Decision.PASS);
    assertThat(t.decide(6, 100)).isEqualTo(Decision.FAIL);
  }

  @Property(tries = 200)
  void evidenceEqualsNumericalIntegrationOfTheMixture(@ForAll @IntRange(min = 0, max = 60) int passes,
      @ForAll @IntRange(min = 0, max = 60) int fails, @ForAll @IntRange(min = 1, max = 99) int pct) {
    double t = pct / 100.0;
    SequentialTest test = SequentialTest.of(t, 0.05, 0, 200);

    double pass = integrate(p -> Math.exp(passes * Math.log(p / t) + fails * Math.log((1 - p) / (1 - t))), t, 1) / (1 - t);
    double fail = integrate(p -> Math.exp(passes * Math.log(p / t) + fails * Math.log((1 - p) / (1 - t))), 0, t) / t;

    assertThat(test.logEvidenceForPass(passes, passes + fails)).isCloseTo(Math.log(pass), within(1e-6));
    assertThat(test.logEvidenceForFail(passes, passes + fails)).isCloseTo(Math.log(fail), within(1e-6));
  }

  /** Composite Simpson's rule; the integrands are smooth and at most 1e27 here. */
  private static double integrate(java.util.function.DoubleUnaryOperator f, double a, double b) {
    int n = 20_000;
    double h = (b - a) / n;
    double sum = f.applyAsDouble(a + 1e-300) + f.applyAsDouble(b - 1e-16);
    for (int i = 1; i < n; i++) {
      sum += (i % 2 == 0 ? 2 : 4) * f.applyAsDouble(a + i * h);
    }
    return sum * h / 3;
  }

  @Test
  void allPassesStopAfterEightRuns_atThresholdHalfAndAlphaFivePercent() {
    // evidence for PASS after s straight passes: 2 (1 - 2^-(s+1)) 2^s / (s + 1); 31.9 at s = 7, 56.8 at s = 8 >= 2/0.05
    SequentialTest t = SequentialTest.of(0.5, 0.05, 5, 50);

    assertThat(Math.exp(t.logEvidenceForPass(8, 8))).isCloseTo(2 * (1 - Math.pow(2, -9)) * 256 / 9, within(1e-9));
    assertThat(t.decide(7, 7)).isEqualTo(Decision.CONTINUE);
    assertThat(t.decide(8, 8)).isEqualTo(Decision.PASS);
    assertThat(t.decide(0, 8)).isEqualTo(Decision.FAIL);
    assertThat(t.step(8, 8).basis()).isEqualTo(SequentialTest.Basis.SEQUENTIAL);
  }

  @Test
  void noSequentialDecisionBeforeMinRuns() {
    SequentialTest t = SequentialTest.of(0.5, 0.05, 20, 50);

    assertThat(t.decide(15, 15)).isEqualTo(Decision.CONTINUE);
    assertThat(t.decide(20, 20)).isEqualTo(Decision.PASS);
  }

  @Test
  void thresholdOneNeedsEveryRunToPass_andThresholdZeroPassesAtOnce() {
    SequentialTest all = SequentialTest.of(1.0, 0.05, 0, 10);
    assertThat(all.decide(9, 9)).isEqualTo(Decision.CONTINUE);
    assertThat(all.decide(9, 10)).isEqualTo(Decision.FAIL);
    assertThat(all.decide(3, 4)).isEqualTo(Decision.FAIL);
    assertThat(all.decide(10, 10)).isEqualTo(Decision.PASS);
    assertThat(all.logEvidenceForPass(9, 9)).isZero();
    assertThat(all.logEvidenceForFail(9, 10)).isInfinite();
    assertThat(all.logEvidenceForFail(9, 9)).isCloseTo(-Math.log(10), within(1e-15));

    SequentialTest none = SequentialTest.of(0.0, 0.05, 3, 10);
    assertThat(none.decide(0, 0)).isEqualTo(Decision.PASS);
    assertThat(none.logEvidenceForFail(0, 5)).isZero();
    assertThat(none.logEvidenceForPass(1, 5)).isInfinite();
  }

  @Test
  void invalidPlansAndCountsAreRejected() {
    assertThatThrownBy(() -> SequentialTest.of(1.1, 0.05, 0, 10)).hasMessageContaining("threshold");
    assertThatThrownBy(() -> SequentialTest.of(0.5, 1, 0, 10)).hasMessageContaining("alpha");
    assertThatThrownBy(() -> SequentialTest.of(0.5, 0.05, 11, 10)).hasMessageContaining("minRuns");
    assertThatThrownBy(() -> SequentialTest.of(0.5, 0.05, 0, 10).decide(3, 11)).hasMessageContaining("maxRuns");
    assertThatThrownBy(() -> SequentialTest.of(0.5, 0.05, 0, 10).decide(4, 3)).hasMessageContaining("passes");
  }

  @Test
  void sequentialDecisionsAtRateExactlyThresholdAreRarerThanAlpha() {
    // p = threshold is the worst case for both one-sided tests: both nulls hold, so any sequential
    // PASS or FAIL is a false decision. Ville bounds each side by alpha/2 over an unbounded horizon.
    double alpha = 0.05;
    int sequences = 2_000;
    for (double t : new double[] {0.5, 0.8}) {
      SequentialTest test = SequentialTest.of(t, alpha, 5, 200);
      SplittableRandom rnd = new SplittableRandom(42);
      int falsePass = 0;
      int falseFail = 0;
      for (int s = 0; s < sequences; s++) {
        int passes = 0;
        for (int runs = 0; ; runs++) {
          SequentialTest.Step step = test.step(passes, runs);
          if (step.decision() != Decision.CONTINUE) {
            if (step.basis() == SequentialTest.Basis.SEQUENTIAL) {
              falsePass += step.decision() == Decision.PASS ? 1 : 0;
              falseFail += step.decision() == Decision.FAIL ? 1 : 0;
            }
            break;
          }
          passes += rnd.nextDouble() < t ? 1 : 0;
        }
      }
      double failRate = (double) falseFail / sequences;
      double passRate = (double) falsePass / sequences;
      System.out.printf("p = threshold = %.2f, alpha %.2f, maxRuns 200: sequential FAIL %.4f, sequential PASS %.4f%n",
          t, alpha, failRate, passRate);
      // Binomial sd of a rate near alpha/2 over 2,000 sequences is 0.0035; alpha leaves room for 7 sd.
      assertThat(failRate).isLessThanOrEqualTo(alpha);
      assertThat(passRate).isLessThanOrEqualTo(alpha);
      assertThat(failRate + passRate).isLessThanOrEqualTo(alpha);
    }
  }

  @Test
  void adaptiveRunsSaveHalfTheRunsAndKeepTheFixedVerdict_onAMixedSuite() {
    SequentialTest test = SequentialTest.of(0.5, 0.05, 5, 50);
    double[] rates = {1.0, 0.0, 0.7};
    SplittableRandom rnd = new SplittableRandom(7);
    int suites = 1_000;
    long used = 0;
    long[] usedByRate = new long[rates.length];
    int agree = 0;
    int curtailed = 0;
    for (int s = 0; s < suites; s++) {
      for (int r = 0; r < rates.length; r++) {
        double rate = rates[r];
        boolean[] seq = new boolean[50];
        int total = 0;
        for (int i = 0; i < seq.length; i++) {
          seq[i] = rnd.nextDouble() < rate;
          total += seq[i] ? 1 : 0;
        }
        Decision fixed = total >= 25 ? Decision.PASS : Decision.FAIL;
        int passes = 0;
        for (int runs = 0; ; runs++) {
          SequentialTest.Step step = test.step(passes, runs);
          if (step.decision() != Decision.CONTINUE) {
            used += runs;
            usedByRate[r] += runs;
            agree += step.decision() == fixed ? 1 : 0;
            curtailed += step.basis() == SequentialTest.Basis.CURTAILED ? 1 : 0;
            break;
          }
          passes += seq[runs] ? 1 : 0;
        }
      }
    }
    double share = (double) used / (suites * 50.0 * rates.length);
    double agreement = (double) agree / (suites * rates.length);
    System.out.printf("mixed suite (p = 1, 0, 0.7; threshold 0.5; maxRuns 50; alpha 0.05; minRuns 5): "
        + "mean runs per suite %.1f of 150 (%.1f%%; per case %.1f, %.1f, %.1f), verdict agreement %.4f, "
        + "curtailed %d of %d%n", (double) used / suites, 100 * share, (double) usedByRate[0] / suites,
        (double) usedByRate[1] / suites, (double) usedByRate[2] / suites, agreement, curtailed, suites * rates.length);

    assertThat(share).isLessThanOrEqualTo(0.5);
    assertThat(agreement).isGreaterThanOrEqualTo(0.99);
  }
}
