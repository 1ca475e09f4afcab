package dev.flightdeck.eval.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class PassKTest {

  /** A case's runs as outcomes, 1 to 10 of them. */
  @Provide
  Arbitrary<List<List<Boolean>>> suites() {
    return Arbitraries.of(true, false).list().ofMinSize(1).ofMaxSize(10).list().ofMinSize(1).ofMaxSize(8);
  }

  private static List<CaseTally> tallies(List<List<Boolean>> suite) {
    List<CaseTally> out = new ArrayList<>();
    for (int i = 0; i < suite.size(); i++) {
      List<Boolean> runs = suite.get(i);
      out.add(new CaseTally("case-" + i, (int) runs.stream().filter(b -> b).count(), runs.size()));
    }
    return out;
  }

  /** Brute force: over all k-subsets of a case's runs, the share that are all passes (or that hold one pass). */
  private static double[] bruteForce(List<List<Boolean>> suite, int k) {
    double hat = 0;
    double at = 0;
    int counted = 0;
    for (List<Boolean> runs : suite) {
      if (runs.size() < k) {
        continue;
      }
      int subsets = 0;
      int allPass = 0;
      int anyPass = 0;
      for (int mask = 0; mask < 1 << runs.size(); mask++) {
        if (Integer.bitCount(mask) != k) {
          continue;
        }
        subsets++;
        boolean all = true;
        boolean any = false;
        for (int i = 0; i < runs.size(); i++) {
          if ((mask & 1 << i) != 0) {
            all &= runs.get(i);
            any |= runs.get(i);
          }
        }
        allPass += all ? 1 : 0;
        anyPass += any ? 1 : 0;
      }
      hat += (double) allPass / subsets;
      at += (double) anyPass / subsets;
      counted++;
    }
    return counted == 0 ? new double[0] : new double[] {hat / counted, at / counted};
  }

  @Property(tries = 300)
  void passHatKAndPassAtKEqualEnumerationOfAllKSubsets(
      @ForAll("suites") List<List<Boolean>> suite, @ForAll @IntRange(min = 1, max = 11) int k) {
    double[] expected = bruteForce(suite, k);
    List<CaseTally> cases = tallies(suite);
    if (expected.length == 0) {
      assertThat(PassK.passHatK(cases, k)).isEmpty();
      assertThat(PassK.passAtK(cases, k)).isEmpty();
    } else {
      assertThat(PassK.passHatK(cases, k).orElseThrow()).isCloseTo(expected[0], within(1e-12));
      assertThat(PassK.passAtK(cases, k).orElseThrow()).isCloseTo(expected[1], within(1e-12));
    }
  }

  @Property(tries = 200)
  void passHatKFallsAndPassAtKRisesWithK(@ForAll("suites") List<List<Boolean>> suite) {
    List<CaseTally> cases = List.of(tallies(suite).getFirst());
    int n = cases.getFirst().runs();
    for (int k = 1; k < n; k++) {
      assertThat(PassK.passHatK(cases, k + 1).orElseThrow()).isLessThanOrEqualTo(PassK.passHatK(cases, k).orElseThrow());
      assertThat(PassK.passAtK(cases, k + 1).orElseThrow()).isGreaterThanOrEqualTo(PassK.passAtK(cases, k).orElseThrow());
    }
  }

  @Test
  void binomialRatiosStayFinite_atAThousandRuns() {
    List<CaseTally> cases = List.of(new CaseTally("big", 990, 1000));
    // C(990,10)/C(1000,10) = prod_{i<10} (990-i)/(1000-i), about 0.9044.
    double expected = 1;
    for (int i = 0; i < 10; i++) {
      expected *= (990.0 - i) / (1000 - i);
    }
    assertThat(PassK.passHatK(cases, 10).orElseThrow()).isCloseTo(expected, within(1e-15));
    assertThat(PassK.passHatK(cases, 990).orElseThrow()).isPositive().isLessThan(1e-20);
    assertThat(PassK.passHatK(cases, 991).orElseThrow()).isZero();
    assertThat(PassK.passAtK(cases, 991).orElseThrow()).isEqualTo(1.0);
    assertThat(PassK.passAtK(cases, 1).orElseThrow()).isCloseTo(0.99, within(1e-15));
  }

  @Test
  void passKIsEmpty_whenNoCaseHasKRuns() {
    List<CaseTally> cases = List.of(new CaseTally("a", 2, 3), new CaseTally("b", 0, 0));
    assertThat(PassK.passHatK(cases, 4)).isEmpty();
    assertThat(PassK.passAtK(cases, 4)).isEmpty();
    assertThat(PassK.passHatK(List.of(), 1)).isEmpty();
  }

  @Test
  void passKOnlyAveragesCasesWithAtLeastKRuns() {
    List<CaseTally> cases = List.of(new CaseTally("long", 4, 4), new CaseTally("short", 0, 2));
    assertThat(PassK.passHatK(cases, 1).orElseThrow()).isEqualTo(0.5);
    assertThat(PassK.passHatK(cases, 3).orElseThrow()).isEqualTo(1.0);
  }

  @Test
  void passKRejectsKBelowOne() {
    assertThatThrownBy(() -> PassK.passHatK(List.of(), 0)).hasMessageContaining("k must be at least 1");
    assertThatThrownBy(() -> PassK.passAtK(List.of(), -1)).hasMessageContaining("k must be at least 1");
  }
}
