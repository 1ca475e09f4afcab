package dev.flightdeck.eval.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.apache.commons.statistics.distribution.NormalDistribution;
import org.apache.commons.statistics.distribution.TDistribution;
import org.junit.jupiter.api.Test;

class PairedTest {

  /** Baseline and candidate over the same case names, each case with its own rates and run counts. */
  private record Pair(List<CaseTally> baseline, List<CaseTally> candidate) {}

  private static Pair randomPair(long seed, int cases, double shift) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<CaseTally> base = new ArrayList<>();
    List<CaseTally> cand = new ArrayList<>();
    for (int c = 0; c < cases; c++) {
      double rate = rnd.nextDouble();
      base.add(draw(rnd, "case-" + c, rate, rnd.nextInt(1, 21)));
      cand.add(draw(rnd, "case-" + c, Math.max(0, Math.min(1, rate + shift)), rnd.nextInt(1, 21)));
    }
    return new Pair(base, cand);
  }

  private static CaseTally draw(SplittableRandom rnd, String name, double rate, int runs) {
    int passes = 0;
    for (int i = 0; i < runs; i++) {
      passes += rnd.nextDouble() < rate ? 1 : 0;
    }
    return new CaseTally(name, passes, runs);
  }

  @Property(tries = 300)
  void comparisonMatchesAReferencePairedTOrBinomialFloor(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 40) int cases, @ForAll @DoubleRange(min = -0.3, max = 0.3) double shift,
      @ForAll @DoubleRange(min = 0.01, max = 0.2) double alpha, @ForAll @DoubleRange(min = 0, max = 0.3) double margin) {
    Pair p = randomPair(seed, cases, shift);
    int c = cases;
    double[] d = new double[c];
    double floor = 0;
    for (int i = 0; i < c; i++) {
      CaseTally b = p.baseline().get(i);
      CaseTally k = p.candidate().get(i);
      d[i] = (double) k.passes() / k.runs() - (double) b.passes() / b.runs();
      floor += agrestiCaffo(b) + agrestiCaffo(k);
    }
    double mean = java.util.Arrays.stream(d).average().orElseThrow();
    double ss = java.util.Arrays.stream(d).map(x -> (x - mean) * (x - mean)).sum();
    double tSe = c >= 2 ? Math.sqrt(ss / (c - 1)) / Math.sqrt(c) : 0;
    double floorSe = Math.sqrt(floor) / c;
    boolean usesT = c >= 2 && tSe > 0 && tSe >= floorSe;
    double se = usesT ? tSe : floorSe;
    double q2 = usesT ? TDistribution.of(c - 1).inverseCumulativeProbability(1 - alpha / 2)
        : NormalDistribution.of(0, 1).inverseCumulativeProbability(1 - alpha / 2);
    double q1 = usesT ? TDistribution.of(c - 1).inverseCumulativeProbability(1 - alpha)
        : NormalDistribution.of(0, 1).inverseCumulativeProbability(1 - alpha);

    Comparison r = Paired.compare(p.baseline(), p.candidate(), margin, alpha);

    assertThat(r.pairedCases()).isEqualTo(c);
    assertThat(r.meanDifference()).isCloseTo(mean, within(1e-12));
    assertThat(r.standardError()).isCloseTo(se, within(1e-12));
    assertThat(r.method()).startsWith(usesT ? Paired.PAIRED_T : Paired.BINOMIAL_FLOOR);
    assertThat(r.interval().low()).isCloseTo(Math.max(-1, mean - q2 * se), within(1e-9));
    assertThat(r.interval().high()).isCloseTo(Math.min(1, mean + q2 * se), within(1e-9));
    assertThat(r.lowerBound()).isCloseTo(Math.max(-1, mean - q1 * se), within(1e-9));
    assertThat(r.notWorse()).isEqualTo(r.lowerBound() > -margin);
    assertThat(r.perCase()).extracting(CaseDifference::difference).containsExactly(
        java.util.Arrays.stream(d).boxed().toArray(Double[]::new));
  }

  private static double agrestiCaffo(CaseTally t) {
    double n = t.runs() + 2.0;
    double p = (t.passes() + 1) / n;
    return p * (1 - p) / n;
  }

  @Property(tries = 200)
  void notWorseIsMonotoneInMargin(@ForAll long seed, @ForAll @IntRange(min = 1, max = 30) int cases,
      @ForAll @DoubleRange(min = -0.3, max = 0.1) double shift,
      @ForAll @DoubleRange(min = 0, max = 1) double smaller, @ForAll @DoubleRange(min = 0, max = 1) double larger) {
    Pair p = randomPair(seed, cases, shift);
    double m1 = Math.min(smaller, larger);
    double m2 = Math.max(smaller, larger);

    boolean tight = Paired.compare(p.baseline(), p.candidate(), m1, 0.05).notWorse();
    boolean loose = Paired.compare(p.baseline(), p.candidate(), m2, 0.05).notWorse();

    assertThat(!tight || loose).as("not worse at margin %s but worse at larger margin %s", m1, m2).isTrue();
  }

  @Property(tries = 100)
  void identicalResultsAreNotWorse_forAnyPositiveMarginGivenEnoughCases(@ForAll long seed,
      @ForAll @DoubleRange(min = 0.01, max = 0.5) double margin, @ForAll @DoubleRange(min = 0.01, max = 0.2) double alpha) {
    // Identical tallies: every difference is 0, so the binomial floor is the standard error. Each case
    // adds at most 2 * 0.25 / 3 to C^2 SE^2 (one run), so C > (z / margin)^2 / 6 cases are enough.
    double z = NormalDistribution.of(0, 1).inverseCumulativeProbability(1 - alpha);
    int cases = (int) Math.ceil(z * z / (margin * margin) / 6) + 1;
    Pair p = randomPair(seed, cases, 0);

    Comparison r = Paired.compare(p.baseline(), p.baseline(), margin, alpha);

    assertThat(r.meanDifference()).isZero();
    assertThat(r.method()).startsWith(Paired.BINOMIAL_FLOOR).contains("do not vary");
    assertThat(r.standardError()).isPositive();
    assertThat(r.notWorse()).isTrue();
  }

  @Test
  void pairedTMatchesHandComputedExample() {
    // rates baseline 0.5 x5; candidate 0.6, 0.4, 0.9, 0.3, 0.8 (100 runs each, so the floor, 0.028, is below)
    // d = 0.1, -0.1, 0.4, -0.2, 0.3: mean 0.1, sample sd sqrt(0.26/4) = 0.254951, SE 0.1140175
    List<CaseTally> base = new ArrayList<>();
    List<CaseTally> cand = new ArrayList<>();
    int[] passes = {60, 40, 90, 30, 80};
    for (int i = 0; i < passes.length; i++) {
      base.add(new CaseTally("c" + i, 50, 100));
      cand.add(new CaseTally("c" + i, passes[i], 100));
    }

    Comparison r = Paired.compare(base, cand, 0.15, 0.05);

    assertThat(r.method()).startsWith(Paired.PAIRED_T).contains("4 df");
    assertThat(r.meanDifference()).isCloseTo(0.1, within(1e-12));
    assertThat(r.standardError()).isCloseTo(0.1140175, within(1e-6));
    // t tables, 4 df: t(0.975) = 2.7764, t(0.95) = 2.1318; lower bound 0.1 - 0.2431 = -0.1431
    assertThat(r.interval().low()).isCloseTo(0.1 - 2.7764 * 0.1140175, within(1e-4));
    assertThat(r.interval().high()).isCloseTo(0.1 + 2.7764 * 0.1140175, within(1e-4));
    assertThat(r.lowerBound()).isCloseTo(0.1 - 2.1318 * 0.1140175, within(1e-4));
    assertThat(r.notWorse()).isTrue();
    assertThat(Paired.compare(base, cand, 0.14, 0.05).notWorse()).isFalse();
  }

  @Test
  void binomialFloorBinds_whenCasesVaryLessThanTheirRunsAloneWould() {
    // baseline 5/10 x5, candidate 5, 6, 5, 6, 5 of 10: d = 0, 0.1, 0, 0.1, 0, sd/sqrt(5) = 0.0245, while
    // ten runs per case alone scatter each difference by about 0.2 (Agresti-Caffo: 5/10 -> 6/12, 6/10 -> 7/12).
    List<CaseTally> base = new ArrayList<>();
    List<CaseTally> cand = new ArrayList<>();
    int[] passes = {5, 6, 5, 6, 5};
    for (int i = 0; i < passes.length; i++) {
      base.add(new CaseTally("c" + i, 5, 10));
      cand.add(new CaseTally("c" + i, passes[i], 10));
    }

    Comparison r = Paired.compare(base, cand, 0.05, 0.05);

    double half = 0.25 / 12;
    double sevenTwelfths = 7.0 / 12 * 5 / 12 / 12;
    assertThat(r.method()).startsWith(Paired.BINOMIAL_FLOOR).contains("below it");
    assertThat(r.standardError()).isCloseTo(Math.sqrt(8 * half + 2 * sevenTwelfths) / 5, within(1e-15));
    assertThat(r.lowerBound()).isCloseTo(0.04 - 1.6449 * r.standardError(), within(1e-4));
  }

  @Test
  void oneRegressionAmongPerfectCases_neverLooksBetterThanNone() {
    List<CaseTally> base = new ArrayList<>();
    List<CaseTally> same = new ArrayList<>();
    List<CaseTally> oneWorse = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      base.add(new CaseTally("c" + i, 5, 5));
      same.add(new CaseTally("c" + i, 5, 5));
      oneWorse.add(new CaseTally("c" + i, i == 0 ? 4 : 5, 5));
    }

    Comparison none = Paired.compare(base, same, 0.05, 0.05);
    Comparison one = Paired.compare(base, oneWorse, 0.05, 0.05);

    // A paired-t fallback would give one regression a standard error of 0.0067 and a lower bound of
    // -0.018, above the -0.056 of no regression at all; the binomial floor keeps the order right.
    assertThat(one.lowerBound()).isLessThan(none.lowerBound());
    assertThat(one.method()).startsWith(Paired.BINOMIAL_FLOOR);
  }

  @Test
  void singleSharedCaseUsesTheBinomialFloor() {
    Comparison r = Paired.compare(List.of(new CaseTally("a", 10, 10)), List.of(new CaseTally("a", 10, 10)), 0.1, 0.05);

    assertThat(r.pairedCases()).isEqualTo(1);
    assertThat(r.method()).startsWith(Paired.BINOMIAL_FLOOR).contains("one shared case");
    // (11/12)(1/12)/12 per side
    assertThat(r.standardError()).isCloseTo(Math.sqrt(2 * 11.0 / 12 / 12 / 12), within(1e-15));
  }

  @Test
  void casesAreMatchedByName_andTheRestListedPerSide() {
    List<CaseTally> base = List.of(new CaseTally("a", 1, 2), new CaseTally("gone", 2, 2),
        new CaseTally("b", 2, 2), new CaseTally("unmeasured", 0, 0));
    List<CaseTally> cand = List.of(new CaseTally("new", 1, 1), new CaseTally("b", 1, 2),
        new CaseTally("a", 2, 2), new CaseTally("unmeasured", 1, 1));

    Comparison r = Paired.compare(base, cand, 0.1, 0.05);

    assertThat(r.pairedCases()).isEqualTo(2);
    assertThat(r.perCase()).containsExactly(new CaseDifference("b", 1.0, 0.5, -0.5),
        new CaseDifference("a", 0.5, 1.0, 0.5));
    assertThat(r.onlyInBaseline()).containsExactly("gone");
    assertThat(r.onlyInCandidate()).containsExactly("new", "unmeasured");
  }

  @Test
  void noSharedCasesIsNeverNotWorse() {
    Comparison r = Paired.compare(List.of(new CaseTally("a", 1, 1)), List.of(new CaseTally("b", 1, 1)), 1.0, 0.05);

    assertThat(r.pairedCases()).isZero();
    assertThat(r.method()).isEqualTo("no shared cases");
    assertThat(r.meanDifference()).isZero();
    assertThat(r.standardError()).isZero();
    assertThat(r.interval()).isEqualTo(new Interval(-1, 1));
    assertThat(r.notWorse()).isFalse();
  }

  @Test
  void duplicateCaseNamesAreRejected() {
    List<CaseTally> twice = List.of(new CaseTally("a", 1, 1), new CaseTally("a", 0, 1));
    assertThatThrownBy(() -> Paired.compare(twice, List.of(), 0.1, 0.05))
        .hasMessageContaining("baseline has case 'a' twice");
    assertThatThrownBy(() -> Paired.compare(List.of(), List.of(), 1.5, 0.05)).hasMessageContaining("margin");
    assertThatThrownBy(() -> Paired.compare(List.of(), List.of(), 0.1, 0)).hasMessageContaining("alpha");
  }
}
