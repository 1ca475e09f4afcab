package dev.flightdeck.rollout.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class AnalysisTest {

  static AnalysisSpec spec(String json) {
    List<String> problems = new ArrayList<>();
    AnalysisSpec s = AnalysisSpec.parse(Json.read(json), "analysis", problems).orElse(null);
    assertThat(problems).isEmpty();
    return s;
  }

  static AnalysisSpec oneMetric(String metric) {
    return spec("{\"metrics\": [" + metric + "]}");
  }

  // Stable arms: 2% errors; tokens 1000 ± 300; lognormal latencies, median 400 ms, σ 0.5 (p95 910 ms).
  private static final TestArm STABLE_ERRORS = TestArm.errors(90_000, 1_800);
  private static final TestArm STABLE_TOKENS = TestArm.values(Arm.TOKENS, 45_000, 1000, 300);
  private static final TestArm STABLE_LATENCY = TestArm.latencies(1, 90_000, 400, 0.5, 1);
  private static final TestArm NOTHING = new TestArm();

  private static Arguments when(String metric, TestArm stable, TestArm canary, Verdict expected) {
    return Arguments.of(metric, stable, canary, expected);
  }

  static Stream<Arguments> limits() {
    String errorMax = "{\"name\": \"errorRate\", \"max\": 0.05}";
    String errorMin = "{\"name\": \"errorRate\", \"min\": 0.01}";
    String errorIncrease = "{\"name\": \"errorRate\", \"maxIncrease\": 0.01}";
    String errorRatio = "{\"name\": \"errorRate\", \"maxRatio\": 1.5}";
    String tokensMax = "{\"name\": \"tokensPerRequest\", \"max\": 1200}";
    String qualityMin = "{\"name\": \"quality\", \"header\": \"X-Flightdeck-Metric-Quality\", \"min\": 0.8}";
    String tokensIncrease = "{\"name\": \"tokensPerRequest\", \"maxIncrease\": 100}";
    String tokensRatio = "{\"name\": \"tokensPerRequest\", \"maxRatio\": 1.2}";
    String latencyMax = "{\"name\": \"latencyP95\", \"max\": 1200}";
    String latencyIncrease = "{\"name\": \"latencyP95\", \"maxIncrease\": 200}";
    String latencyRatio = "{\"name\": \"latencyP95\", \"maxRatio\": 1.2}";
    String shadowMax = "{\"name\": \"shadowDivergence\", \"max\": 0.1}";
    String shadowMin = "{\"name\": \"shadowDivergence\", \"min\": 0.1}";
    return Stream.of(
        // RATE
        when(errorMax, NOTHING, TestArm.errors(1000, 100), Verdict.FAIL),
        when(errorMax, NOTHING, TestArm.errors(5000, 50), Verdict.PASS),
        when(errorMax, NOTHING, TestArm.errors(1000, 50), Verdict.WAIT),
        when(errorMin, NOTHING, TestArm.errors(5000, 5), Verdict.FAIL),
        when(errorMin, NOTHING, TestArm.errors(5000, 250), Verdict.PASS),
        when(errorMin, NOTHING, TestArm.errors(1000, 10), Verdict.WAIT),
        when(errorIncrease, STABLE_ERRORS, TestArm.errors(2000, 200), Verdict.FAIL),
        when(errorIncrease, STABLE_ERRORS, TestArm.errors(20_000, 400), Verdict.PASS),
        when(errorIncrease, STABLE_ERRORS, TestArm.errors(1000, 30), Verdict.WAIT),
        when(errorRatio, STABLE_ERRORS, TestArm.errors(1000, 100), Verdict.FAIL),
        when(errorRatio, STABLE_ERRORS, TestArm.errors(10_000, 100), Verdict.PASS),
        when(errorRatio, STABLE_ERRORS, TestArm.errors(1000, 30), Verdict.WAIT),
        // MEAN
        when(tokensMax, NOTHING, TestArm.values(Arm.TOKENS, 1000, 1500, 300), Verdict.FAIL),
        when(tokensMax, NOTHING, TestArm.values(Arm.TOKENS, 1000, 1000, 300), Verdict.PASS),
        when(tokensMax, NOTHING, TestArm.values(Arm.TOKENS, 1000, 1200, 300), Verdict.WAIT),
        when(qualityMin, NOTHING, TestArm.values("quality", 1000, 0.5, 0.2), Verdict.FAIL),
        when(qualityMin, NOTHING, TestArm.values("quality", 1000, 0.95, 0.1), Verdict.PASS),
        when(qualityMin, NOTHING, TestArm.values("quality", 1000, 0.8, 0.2), Verdict.WAIT),
        when(tokensIncrease, STABLE_TOKENS, TestArm.values(Arm.TOKENS, 1000, 1300, 300), Verdict.FAIL),
        when(tokensIncrease, STABLE_TOKENS, TestArm.values(Arm.TOKENS, 5000, 1000, 300), Verdict.PASS),
        when(tokensIncrease, STABLE_TOKENS, TestArm.values(Arm.TOKENS, 1000, 1100, 300), Verdict.WAIT),
        when(tokensRatio, STABLE_TOKENS, TestArm.values(Arm.TOKENS, 1000, 1500, 300), Verdict.FAIL),
        when(tokensRatio, STABLE_TOKENS, TestArm.values(Arm.TOKENS, 1000, 1000, 300), Verdict.PASS),
        when(tokensRatio, STABLE_TOKENS, TestArm.values(Arm.TOKENS, 1000, 1200, 300), Verdict.WAIT),
        // QUANTILE (min is refused when parsing)
        when(latencyMax, NOTHING, TestArm.latencies(2, 5000, 400, 0.5, 1.5), Verdict.FAIL),
        when(latencyMax, NOTHING, TestArm.latencies(2, 5000, 400, 0.5, 1), Verdict.PASS),
        when(latencyMax, NOTHING, TestArm.latencies(2, 1000, 400, 0.5, 1200 / 910.4), Verdict.WAIT),
        when(latencyIncrease, STABLE_LATENCY, TestArm.latencies(2, 5000, 400, 0.5, 1.5), Verdict.FAIL),
        when(latencyIncrease, STABLE_LATENCY, TestArm.latencies(2, 10_000, 400, 0.5, 1), Verdict.PASS),
        when(latencyIncrease, STABLE_LATENCY, TestArm.latencies(2, 1000, 400, 0.5, 1110 / 910.4), Verdict.WAIT),
        when(latencyRatio, STABLE_LATENCY, TestArm.latencies(2, 5000, 400, 0.5, 1.5), Verdict.FAIL),
        when(latencyRatio, STABLE_LATENCY, TestArm.latencies(2, 10_000, 400, 0.5, 1), Verdict.PASS),
        when(latencyRatio, STABLE_LATENCY, TestArm.latencies(2, 1000, 400, 0.5, 1.2), Verdict.WAIT),
        // CANARY_RATE (relative limits are refused when parsing)
        when(shadowMax, NOTHING, shadow(1000, 300), Verdict.FAIL),
        when(shadowMax, NOTHING, shadow(5000, 100), Verdict.PASS),
        when(shadowMax, NOTHING, shadow(1000, 100), Verdict.WAIT),
        when(shadowMin, NOTHING, shadow(1000, 20), Verdict.FAIL),
        when(shadowMin, NOTHING, shadow(1000, 300), Verdict.PASS),
        when(shadowMin, NOTHING, shadow(1000, 100), Verdict.WAIT));
  }

  private static TestArm shadow(long mirrored, long diverged) {
    return new TestArm().with(Arm.SHADOW_DIVERGENCE, Moments.bernoulli(mirrored, diverged));
  }

  @ParameterizedTest(name = "{0}: {3}")
  @MethodSource("limits")
  void evaluate_decidesEachLimitTypeOnEachMetricType(String metric, TestArm stable, TestArm canary, Verdict expected) {
    Analysis.Result r = Analysis.evaluate(oneMetric(metric), stable, canary);
    assertThat(r.metrics()).hasSize(1);
    MetricResult m = r.metrics().getFirst();
    assertThat(r.verdict()).as("%s", m).isEqualTo(expected);
    // The verdict is the bound's sign, and the reason is not the missing-sample one.
    switch (expected) {
      case FAIL -> assertThat(m.low()).isPositive();
      case PASS -> assertThat(m.high()).isNotPositive();
      case WAIT -> {
        assertThat(m.low()).isNotPositive();
        assertThat(m.high()).isPositive();
      }
    }
    assertThat(m.reason()).doesNotContain("samples");
  }

  @Test
  void evaluate_waitsForTheMinimumSampleOnEachArm() {
    AnalysisSpec s = oneMetric("{\"name\": \"errorRate\", \"maxIncrease\": 0.01}");
    Analysis.Result fewCanary = Analysis.evaluate(s, STABLE_ERRORS, TestArm.errors(99, 99));
    assertThat(fewCanary.verdict()).isEqualTo(Verdict.WAIT);
    assertThat(fewCanary.metrics().getFirst().reason()).isEqualTo("99 of 100 canary samples");
    Analysis.Result fewStable = Analysis.evaluate(s, TestArm.errors(50, 1), TestArm.errors(1000, 500));
    assertThat(fewStable.verdict()).isEqualTo(Verdict.WAIT);
    assertThat(fewStable.metrics().getFirst().reason()).isEqualTo("50 of 100 stable samples");
    AnalysisSpec latency = oneMetric("{\"name\": \"latencyP95\", \"max\": 100}");
    assertThat(Analysis.evaluate(latency, NOTHING, TestArm.latencies(1, 99, 400, 0.5, 10)).verdict())
        .isEqualTo(Verdict.WAIT);
    // With the sample, the same data decides.
    assertThat(Analysis.evaluate(latency, NOTHING, TestArm.latencies(1, 100, 400, 0.5, 10)).verdict())
        .isEqualTo(Verdict.FAIL);
  }

  @Test
  void evaluate_splitsAlphaOverLimitsAndOverTheTwoVersions() {
    TestArm canary = TestArm.errors(1000, 60);
    TestArm stable = TestArm.errors(9000, 180);
    double tuneAt = Analysis.TUNE_AT_MIN_SAMPLES * 100;
    // One absolute limit: all of alpha.
    MetricResult alone = Analysis.evaluate(oneMetric("{\"name\": \"errorRate\", \"max\": 0.05}"), stable, canary)
        .metrics().getFirst();
    assertThat(alone.low()).isCloseTo(ConfidenceSequence.proportion(60, 1000, 0.01, tuneAt).low() - 0.05, within(1e-12));
    // Two limits: half each.
    AnalysisSpec two = spec("{\"metrics\": [{\"name\": \"errorRate\", \"max\": 0.05, \"maxIncrease\": 0.01}]}");
    assertThat(two.checks()).isEqualTo(2);
    List<MetricResult> both = Analysis.evaluate(two, stable, canary).metrics();
    assertThat(both.getFirst().low())
        .isCloseTo(ConfidenceSequence.proportion(60, 1000, 0.005, tuneAt).low() - 0.05, within(1e-12));
    // A relative limit: its half again, over the two versions' intervals.
    double c = ConfidenceSequence.proportion(60, 1000, 0.0025, tuneAt).low();
    double s = ConfidenceSequence.proportion(180, 9000, 0.0025, tuneAt).high();
    assertThat(both.get(1).low()).isCloseTo(c - s - 0.01, within(1e-12));
    // More limits, wider intervals.
    assertThat(both.getFirst().low()).isLessThan(alone.low());
  }

  @Test
  void evaluate_splitsAQuantileLimitsAlphaBetweenStablesQuantileAndTheCanarysShare() {
    TestArm stable = TestArm.latencies(1, 9000, 400, 0.5, 1);
    TestArm canary = TestArm.latencies(2, 1000, 400, 0.5, 1.4);
    double tuneAt = Analysis.TUNE_AT_MIN_SAMPLES * 100;
    MetricResult r = Analysis.evaluate(oneMetric("{\"name\": \"latencyP95\", \"maxRatio\": 1.2}"), stable, canary)
        .metrics().getFirst();
    // Failing compares with the top of stable's p95 interval (α/2), through the canary's share (α/2).
    ConfidenceSequence.Bounds accepted = ConfidenceSequence.accepted(0.95, 9000, 0.005, tuneAt);
    double failAt = 1.2 * Histograms.quantile(stable.latency(), accepted.high());
    double passAt = 1.2 * Histograms.quantile(stable.latency(), accepted.low());
    assertThat(failAt).isGreaterThan(1.2 * Histograms.quantile(stable.latency(), 0.95));
    double failShare = Histograms.shareAbove(canary.latency(), failAt);
    double passShare = Histograms.shareAbove(canary.latency(), passAt);
    assertThat(r.low()).isCloseTo(ConfidenceSequence.proportion(failShare * 1000, 1000, 0.005, tuneAt).low() - 0.05,
        within(1e-12));
    assertThat(r.high()).isCloseTo(ConfidenceSequence.proportion(passShare * 1000, 1000, 0.005, tuneAt).high() - 0.05,
        within(1e-12));
  }

  @Test
  void evaluate_failsWhenAnyLimitFails_andPassesOnlyWhenAllPass() {
    AnalysisSpec s = spec("{\"metrics\": [{\"name\": \"errorRate\", \"max\": 0.05}, {\"name\": \"tokensPerRequest\", \"max\": 1200}]}");
    TestArm good = TestArm.errors(5000, 50).with(Arm.TOKENS, new Moments(1000, 1_000_000, 1000 * (1e6 + 9e4)));
    TestArm undecidedTokens = TestArm.errors(5000, 50).with(Arm.TOKENS, new Moments(1000, 1_200_000, 1000 * (1.44e6 + 9e4)));
    TestArm badErrors = TestArm.errors(1000, 300).with(Arm.TOKENS, new Moments(1000, 1_200_000, 1000 * (1.44e6 + 9e4)));
    assertThat(Analysis.evaluate(s, NOTHING, good).verdict()).isEqualTo(Verdict.PASS);
    assertThat(Analysis.evaluate(s, NOTHING, undecidedTokens).verdict()).isEqualTo(Verdict.WAIT);
    assertThat(Analysis.evaluate(s, NOTHING, badErrors).verdict()).isEqualTo(Verdict.FAIL);
  }

  @Test
  void evidence_hasTheVerdictTheNumbersAndTheBoundPerLimit() {
    AnalysisSpec s = spec("{\"alpha\": 0.02, \"metrics\": [{\"name\": \"errorRate\", \"maxIncrease\": 0.01},"
        + " {\"name\": \"latencyP95\", \"max\": 1200}]}");
    TestArm canary = TestArm.latencies(2, 5000, 400, 0.5, 1.5);
    canary.with(Arm.ERRORS, Moments.bernoulli(5000, 100));
    JsonNode j = Analysis.evaluate(s, STABLE_ERRORS, canary).toJson();
    assertThat(j.path("verdict").asText()).isEqualTo("fail");
    assertThat(j.path("mode").asText()).isEqualTo("sequential");
    assertThat(j.path("alpha").asDouble()).isEqualTo(0.02);
    assertThat(j.path("metrics")).hasSize(2);
    JsonNode errors = j.path("metrics").get(0);
    assertThat(errors.path("metric").asText()).isEqualTo("errorRate");
    assertThat(errors.path("limit").asText()).isEqualTo("canary ≤ stable + 0.01");
    assertThat(errors.path("canary").path("n").asLong()).isEqualTo(5000);
    assertThat(errors.path("canary").path("estimate").asDouble()).isEqualTo(0.02);
    assertThat(errors.path("stable").path("n").asLong()).isEqualTo(90_000);
    assertThat(errors.path("bound").path("low").isNumber()).isTrue();
    assertThat(errors.path("bound").path("high").isNumber()).isTrue();
    assertThat(errors.path("reason").asText()).isNotBlank();
    JsonNode latency = j.path("metrics").get(1);
    assertThat(latency.path("verdict").asText()).isEqualTo("fail");
    assertThat(latency.path("limit").asText()).isEqualTo("canary p95 ≤ 1200 ms");
    assertThat(latency.has("stable")).as("an absolute limit reads no stable data").isFalse();
    assertThat(latency.path("canary").path("estimate").asDouble()).isBetween(1250.0, 1500.0);
    assertThat(latency.path("reason").asText()).contains("of canary requests above 1200 ms, more than 5.0%");
    // Waiting for the minimum sample: no bound.
    JsonNode waiting = Analysis.evaluate(s, STABLE_ERRORS, TestArm.errors(10, 0)).toJson().path("metrics").get(0);
    assertThat(waiting.path("verdict").asText()).isEqualTo("wait");
    assertThat(waiting.has("bound")).isFalse();
  }

  @Test
  void check_comparesTheIntervalsPointEstimates() {
    AnalysisSpec s = spec("{\"mode\": \"threshold\", \"metrics\": [{\"name\": \"errorRate\", \"max\": 0.05},"
        + " {\"name\": \"latencyP95\", \"maxRatio\": 1.2}]}");
    TestArm stable = TestArm.latencies(1, 10_000, 400, 0.5, 1);
    stable.with(Arm.ERRORS, Moments.bernoulli(10_000, 200));
    TestArm fine = TestArm.latencies(2, 1000, 400, 0.5, 1);
    fine.with(Arm.ERRORS, Moments.bernoulli(1000, 40));
    TestArm errors = TestArm.latencies(2, 1000, 400, 0.5, 1);
    errors.with(Arm.ERRORS, Moments.bernoulli(1000, 60));
    TestArm slow = TestArm.latencies(2, 1000, 400, 0.5, 1.3);
    slow.with(Arm.ERRORS, Moments.bernoulli(1000, 0));
    assertThat(Analysis.check(s, stable, fine).verdict()).isEqualTo(Verdict.PASS);
    assertThat(Analysis.check(s, stable, errors).verdict()).isEqualTo(Verdict.FAIL);
    Analysis.Result r = Analysis.check(s, stable, slow);
    assertThat(r.verdict()).isEqualTo(Verdict.FAIL);
    assertThat(r.metrics().get(1).canaryEstimate() / r.metrics().get(1).stableEstimate()).isCloseTo(1.3, within(0.05));
    assertThat(Analysis.check(s, stable, new TestArm()).verdict()).isEqualTo(Verdict.WAIT);
  }
}
