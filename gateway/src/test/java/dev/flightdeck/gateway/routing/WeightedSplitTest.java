package dev.flightdeck.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The weighted split converges to its configuration (chi-square tests, not exact counts). */
class WeightedSplitTest {

  private static final String[] VERSIONS = {"v1", "v2", "v3"};
  private static final int[] WEIGHTS = {70, 20, 10};

  private static AgentRoute route() {
    return new AgentRoute("a", List.of(), Map.of(), VERSIONS, new int[] {70, 90, 100},
        new AgentRoute.SessionSpec("X-Flightdeck-Session", null, null, 1000, false), null, null);
  }

  /** Pearson's chi-square statistic of observed counts against the weights. */
  private static double chiSquare(Supplier<String> draw, int n) {
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < n; i++) {
      counts.merge(draw.get(), 1, Integer::sum);
    }
    double chi = 0;
    for (int i = 0; i < VERSIONS.length; i++) {
      double expected = n * WEIGHTS[i] / 100.0;
      double d = counts.getOrDefault(VERSIONS[i], 0) - expected;
      chi += d * d / expected;
    }
    return chi;
  }

  @Test
  void newSessionsSplitByWeight() {
    AgentRoute r = route();
    Random ids = new Random(42);
    // 2 degrees of freedom: P(chi2 > 13.82) = 0.001.
    assertThat(chiSquare(() -> r.chooseFor("session-" + ids.nextLong()), 50_000)).isLessThan(13.82);
    // Sequential ids (a common shape) hash just as evenly.
    int[] next = {0};
    assertThat(chiSquare(() -> r.chooseFor("conv-" + next[0]++), 50_000)).isLessThan(13.82);
  }

  @Test
  void requestsWithoutSessionSplitByWeight() {
    AgentRoute r = route();
    // Truly random draws: a bound with P = 1e-6 keeps the test from flaking.
    assertThat(chiSquare(r::chooseRandom, 50_000)).isLessThan(27.63);
  }

  @Test
  void aSessionAlwaysGetsTheSameChoiceAndZeroWeightsGetNothing() {
    AgentRoute r = route();
    for (int i = 0; i < 1000; i++) {
      assertThat(r.chooseFor("s" + i)).isEqualTo(r.chooseFor("s" + i));
    }
    AgentRoute none = new AgentRoute("a", List.of(), Map.of(), new String[0], new int[0],
        new AgentRoute.SessionSpec("h", null, null, 1, false), null, null);
    assertThat(none.chooseFor("x")).isNull();
    assertThat(none.chooseRandom()).isNull();
  }

  @Test
  void userSegmentsByPercentAreStableAndProportional() {
    Rule.UserSegment fivePercent = new Rule.UserSegment("X-User", null, null, 5);
    int in = 0;
    for (int i = 0; i < 100_000; i++) {
      String user = "user-" + i;
      if (fivePercent.matches(h -> user, c -> null)) {
        in++;
      }
    }
    // Binomial(100000, 0.05): sd = 69; 5 sd either way.
    assertThat(in).isBetween(5_000 - 345, 5_000 + 345);
    // A ring that grows keeps its earlier users (5% is inside 25%).
    Rule.UserSegment quarter = new Rule.UserSegment("X-User", null, null, 25);
    for (int i = 0; i < 10_000; i++) {
      String user = "user-" + i;
      if (fivePercent.matches(h -> user, c -> null)) {
        assertThat(quarter.matches(h -> user, c -> null)).isTrue();
      }
    }
  }
}
