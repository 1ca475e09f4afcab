package dev.flightdeck.eval.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.apache.commons.statistics.distribution.NormalDistribution;
import org.junit.jupiter.api.Test;

class SuiteStatisticsTest {

  /** Outcomes x[c][i] of run i of case c. */
  private static List<CaseTally> tallies(boolean[][] x) {
    List<CaseTally> out = new ArrayList<>();
    for (int c = 0; c < x.length; c++) {
      int passes = 0;
      for (boolean b : x[c]) {
        passes += b ? 1 : 0;
      }
      out.add(new CaseTally("case-" + c, passes, x[c].length));
    }
    return out;
  }

  private static boolean[][] random(long seed, int clusters, int minSize, int maxSize) {
    SplittableRandom rnd = new SplittableRandom(seed);
    boolean[][] x = new boolean[clusters][];
    for (int c = 0; c < clusters; c++) {
      double rate = rnd.nextDouble();
      x[c] = new boolean[rnd.nextInt(minSize, maxSize + 1)];
      for (int i = 0; i < x[c].length; i++) {
        x[c][i] = rnd.nextDouble() < rate;
      }
    }
    return x;
  }

  @Property(tries = 300)
  void clusteredSeEqualsMillersTripleSum_withEqualClusterSizes(@ForAll long seed,
      @ForAll @IntRange(min = 2, max = 25) int clusters, @ForAll @IntRange(min = 1, max = 12) int size) {
    boolean[][] x = random(seed, clusters, size, size);
    int n = clusters * size;
    double mean = 0;
    for (boolean[] row : x) {
      for (boolean b : row) {
        mean += (b ? 1.0 : 0.0) / n;
      }
    }
    // Miller (2024): SE^2 = sum_c sum_i sum_j (x_ic - mean)(x_jc - mean) / n^2, times C/(C-1) (CR1).
    double sum = 0;
    for (boolean[] row : x) {
      for (boolean xi : row) {
        for (boolean xj : row) {
          sum += ((xi ? 1 : 0) - mean) * ((xj ? 1 : 0) - mean);
        }
      }
    }
    double expectedSquare = sum * clusters / (clusters - 1) / ((double) n * n);

    Summary s = SuiteStatistics.summarize(tallies(x), 0.95);

    assertThat(s.pass1()).isCloseTo(mean, within(1e-12));
    // compared squared: where the clusters do not vary the reference sum is a rounding error of
    // either sign, about 1e-18, whose root would be 1e-9 or NaN
    assertThat(s.clusteredSe() * s.clusteredSe()).isCloseTo(expectedSquare, within(1e-14));
  }

  @Property(tries = 300)
  void clusteredSeEqualsTheWeightedSumOverRuns_withUnequalClusterSizes(@ForAll long seed,
      @ForAll @IntRange(min = 2, max = 25) int clusters) {
    boolean[][] x = random(seed, clusters, 1, 30);
    // pass1 = sum_c sum_i w_ci x_ci with w_ci = 1/(C n_c); SE^2 = C/(C-1) sum_c (sum_i w_ci (x_ci - pass1))^2.
    double pass1 = 0;
    for (boolean[] row : x) {
      for (boolean b : row) {
        pass1 += (b ? 1.0 : 0.0) / ((double) clusters * row.length);
      }
    }
    double sum = 0;
    for (boolean[] row : x) {
      double score = 0;
      for (boolean b : row) {
        score += ((b ? 1.0 : 0.0) - pass1) / ((double) clusters * row.length);
      }
      sum += score * score;
    }
    double expected = Math.sqrt(sum * clusters / (clusters - 1));

    Summary s = SuiteStatistics.summarize(tallies(x), 0.95);

    assertThat(s.pass1()).isCloseTo(pass1, within(1e-12));
    assertThat(s.clusteredSe() * s.clusteredSe()).isCloseTo(expected * expected, within(1e-14));
    double z = NormalDistribution.of(0, 1).inverseCumulativeProbability(0.975);
    assertThat(s.clusteredCi().low()).isCloseTo(Math.max(0, pass1 - z * expected), within(1e-8));
    assertThat(s.clusteredCi().high()).isCloseTo(Math.min(1, pass1 + z * expected), within(1e-8));
  }

  @Property(tries = 200)
  void clusteredSeExceedsNaiveBySqrtOfClusterSize_whenCasesAreAllOrNothing(@ForAll long seed,
      @ForAll @IntRange(min = 2, max = 40) int clusters, @ForAll @IntRange(min = 2, max = 20) int size) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<CaseTally> cases = new ArrayList<>();
    int passing = 0;
    for (int c = 0; c < clusters; c++) {
      // at least one passing and one failing case, so neither standard error is 0
      boolean pass = c == 0 || (c != 1 && rnd.nextBoolean());
      passing += pass ? 1 : 0;
      cases.add(new CaseTally("case-" + c, pass ? size : 0, size));
    }

    Summary s = SuiteStatistics.summarize(cases, 0.95);

    // q = passing share: clustered^2 = q(1-q)/(C-1), naive^2 = q(1-q)/(C m).
    assertThat(passing).isBetween(1, clusters - 1);
    assertThat(s.clusteredSe()).isGreaterThan(s.naiveSe());
    assertThat(s.clusteredSe() / s.naiveSe())
        .isCloseTo(Math.sqrt((double) clusters * size / (clusters - 1)), within(1e-9));
  }

  @Test
  void clusteredSeIsAboutNaive_whenRunsAreIndependentAcrossCases() {
    SplittableRandom rnd = new SplittableRandom(20241101);
    double ratioSum = 0;
    int suites = 200;
    for (int r = 0; r < suites; r++) {
      boolean[][] x = new boolean[100][10];
      for (boolean[] row : x) {
        for (int i = 0; i < row.length; i++) {
          row[i] = rnd.nextDouble() < 0.7;
        }
      }
      Summary s = SuiteStatistics.summarize(tallies(x), 0.95);
      ratioSum += s.clusteredSe() / s.naiveSe();
    }
    // One suite's ratio has a spread of about 7% (the sd of 100 case rates); 200 suites' mean, 0.5%.
    assertThat(ratioSum / suites).isCloseTo(1.0, within(0.02));
  }

  @Property(tries = 200)
  void passHatOneAndPassAtOneArePass1(@ForAll long seed, @ForAll @IntRange(min = 1, max = 30) int clusters) {
    Summary s = SuiteStatistics.summarize(tallies(random(seed, clusters, 1, 15)), 0.9);

    assertThat(s.passHatK().get(1)).isEqualTo(s.pass1());
    assertThat(s.passAtK().get(1)).isCloseTo(s.pass1(), within(1e-12));
  }

  @Property(tries = 100)
  void summaryCurvesEqualPassKForEveryK(@ForAll long seed, @ForAll @IntRange(min = 1, max = 20) int clusters) {
    List<CaseTally> cases = tallies(random(seed, clusters, 0, 40));
    Summary s = SuiteStatistics.summarize(cases, 0.95);
    int maxRuns = cases.stream().mapToInt(CaseTally::runs).max().orElseThrow();

    assertThat(s.passHatK().keySet()).hasSize(maxRuns);
    for (int k = 1; k <= maxRuns; k++) {
      assertThat(s.passHatK().get(k)).isEqualTo(PassK.passHatK(cases, k).orElseThrow());
      assertThat(s.passAtK().get(k)).isEqualTo(PassK.passAtK(cases, k).orElseThrow());
    }
  }

  @Test
  void summaryCountsRunsPassesAndFlakyCasesInInputOrder() {
    List<CaseTally> cases = List.of(new CaseTally("steady", 5, 5), new CaseTally("wobbly", 3, 5),
        new CaseTally("broken", 0, 5), new CaseTally("skipped", 0, 0), new CaseTally("shaky", 1, 2));

    Summary s = SuiteStatistics.summarize(cases, 0.95);

    assertThat(s.cases()).isEqualTo(5);
    assertThat(s.runs()).isEqualTo(17);
    assertThat(s.passes()).isEqualTo(9);
    assertThat(s.flaky()).containsExactly("wobbly", "shaky");
    // the unmeasured case does not count in pass1: (1 + 0.6 + 0 + 0.5) / 4
    assertThat(s.pass1()).isCloseTo(0.525, within(1e-15));
    assertThat(s.wilson()).isEqualTo(Proportions.wilson(9, 17, 0.95));
    assertThat(s.naiveSe()).isCloseTo(Math.sqrt(9.0 / 17 * 8 / 17 / 17), within(1e-15));
  }

  @Test
  void passKCurvesStopAtAThousandEntries() {
    Summary s = SuiteStatistics.summarize(List.of(new CaseTally("long", 1499, 1500)), 0.95);

    assertThat(s.passHatK()).hasSize(1000);
    assertThat(s.passHatK().lastKey()).isEqualTo(1000);
    assertThat(s.passHatK().get(1000)).isCloseTo(500.0 / 1500, within(1e-12));
  }

  @Test
  void oneCaseUsesTheBinomialStandardError_becauseOneClusterCannotShowSpread() {
    Summary s = SuiteStatistics.summarize(List.of(new CaseTally("only", 7, 10)), 0.95);

    assertThat(s.clusteredSe()).isEqualTo(s.naiveSe()).isCloseTo(Math.sqrt(0.7 * 0.3 / 10), within(1e-15));
  }

  @Test
  void emptySuiteSummarisesToZerosAndTheWholeUnitInterval() {
    Summary s = SuiteStatistics.summarize(List.of(new CaseTally("skipped", 0, 0)), 0.95);

    assertThat(s.pass1()).isZero();
    assertThat(s.clusteredSe()).isZero();
    assertThat(s.clusteredCi()).isEqualTo(new Interval(0, 1));
    assertThat(s.wilson()).isEqualTo(new Interval(0, 1));
    assertThat(s.passHatK()).isEmpty();
    assertThat(s.flaky()).isEmpty();
  }
}
