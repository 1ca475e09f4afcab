package dev.flightdeck.eval.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.Scale;
import org.apache.commons.statistics.distribution.NormalDistribution;
import org.junit.jupiter.api.Test;

class ProportionsTest {

  record Counts(long successes, long n) {}

  @Provide
  Arbitrary<Counts> counts() {
    return Arbitraries.longs().between(1, 5_000).flatMap(n ->
        Combinators.combine(Arbitraries.longs().between(0, n), Arbitraries.just(n)).as(Counts::new));
  }

  @Property(tries = 300)
  void wilsonEndsSolveTheScoreInequality(@ForAll("counts") Counts c,
      @ForAll @DoubleRange(min = 0.5, max = 0.999) @Scale(4) double confidence) {
    double z = NormalDistribution.of(0, 1).inverseCumulativeProbability(1 - (1 - confidence) / 2);
    double pHat = (double) c.successes() / c.n();
    // The score interval is the set of p with (pHat - p)^2 <= z^2 p (1 - p) / n; find its ends by bisection.
    java.util.function.DoubleUnaryOperator outside =
        p -> (pHat - p) * (pHat - p) - z * z * p * (1 - p) / c.n();
    double low = c.successes() == 0 ? 0 : bisect(outside, 0, pHat);
    double high = c.successes() == c.n() ? 1 : bisect(outside, 1, pHat);

    Interval wilson = Proportions.wilson(c.successes(), c.n(), confidence);

    assertThat(wilson.low()).isCloseTo(low, within(1e-9));
    assertThat(wilson.high()).isCloseTo(high, within(1e-9));
    assertThat(wilson.contains(pHat)).isTrue();
  }

  /** Bisection between a point outside the interval and one inside it. */
  private static double bisect(java.util.function.DoubleUnaryOperator outside, double out, double in) {
    for (int i = 0; i < 200; i++) {
      double mid = (out + in) / 2;
      if (outside.applyAsDouble(mid) > 0) {
        out = mid;
      } else {
        in = mid;
      }
    }
    return (out + in) / 2;
  }

  @Test
  void wilsonMatchesNewcombesPublishedExamples() {
    // Newcombe (1998), Statistics in Medicine 17:857-872, examples for method 3 (score, no continuity correction).
    assertInterval(Proportions.wilson(81, 263, 0.95), 0.2553, 0.3662);
    assertInterval(Proportions.wilson(15, 148, 0.95), 0.0624, 0.1605);
    assertInterval(Proportions.wilson(0, 20, 0.95), 0.0, 0.1611);
    assertInterval(Proportions.wilson(1, 29, 0.95), 0.0061, 0.1718);
  }

  private static void assertInterval(Interval actual, double low, double high) {
    assertThat(actual.low()).isCloseTo(low, within(5e-5));
    assertThat(actual.high()).isCloseTo(high, within(5e-5));
  }

  @Test
  void wilsonIsTheWholeUnitInterval_whenThereAreNoTrials() {
    assertThat(Proportions.wilson(0, 0, 0.95)).isEqualTo(new Interval(0, 1));
  }

  @Test
  void wilsonEndsAreExactlyZeroAndOne_atNoneAndAllSuccesses() {
    assertThat(Proportions.wilson(0, 1000, 0.95).low()).isZero();
    assertThat(Proportions.wilson(1000, 1000, 0.95).high()).isEqualTo(1.0);
  }

  @Test
  void wilsonRejectsImpossibleCountsAndConfidences() {
    assertThatThrownBy(() -> Proportions.wilson(5, 4, 0.95)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Proportions.wilson(-1, 4, 0.95)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Proportions.wilson(1, 4, 1.0)).hasMessageContaining("confidence");
    assertThatThrownBy(() -> Proportions.wilson(1, 4, 95)).hasMessageContaining("confidence");
  }
}
