package dev.flightdeck.rollout.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flightdeck.api.resource.Json;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ThresholdPolicyTest {

  private static final AnalysisSpec SPEC = AnalysisSpec.parse(Json.read(
      "{\"mode\": \"threshold\", \"interval\": \"1m\", \"failureLimit\": 3, \"count\": 4,"
          + " \"metrics\": [{\"name\": \"errorRate\", \"max\": 0.05}]}"), "analysis", new ArrayList<>()).orElseThrow();

  private static Analysis.Result result(Verdict v) {
    return new Analysis.Result(v, AnalysisSpec.Mode.THRESHOLD, 0.01, List.of());
  }

  @Test
  void due_onceAnIntervalHasPassedSinceTheLastCheck() {
    ThresholdPolicy p = ThresholdPolicy.start(1_000);
    assertThat(p.due(SPEC, 60_999)).isFalse();
    assertThat(p.due(SPEC, 61_000)).isTrue();
    p = p.record(result(Verdict.PASS), 61_000);
    assertThat(p.due(SPEC, 120_999)).isFalse();
    assertThat(p.due(SPEC, 121_000)).isTrue();
  }

  @Test
  void fails_atTheFailureLimit_evenAfterPassedChecks() {
    ThresholdPolicy p = ThresholdPolicy.start(0);
    p = p.record(result(Verdict.FAIL), 60_000).record(result(Verdict.PASS), 120_000).record(result(Verdict.FAIL), 180_000);
    assertThat(p.checks()).isEqualTo(3);
    assertThat(p.failures()).isEqualTo(2);
    assertThat(p.verdict(SPEC)).isEqualTo(Verdict.WAIT);
    p = p.record(result(Verdict.FAIL), 240_000);
    assertThat(p.verdict(SPEC)).isEqualTo(Verdict.FAIL);
  }

  @Test
  void passes_afterCountChecksWithFewerFailuresThanTheLimit() {
    ThresholdPolicy p = ThresholdPolicy.start(0);
    for (int i = 1; i <= 3; i++) {
      p = p.record(result(i == 2 ? Verdict.FAIL : Verdict.PASS), i * 60_000L);
      assertThat(p.verdict(SPEC)).isEqualTo(Verdict.WAIT);
    }
    p = p.record(result(Verdict.FAIL), 240_000);
    assertThat(p.failures()).isEqualTo(2);
    assertThat(p.verdict(SPEC)).isEqualTo(Verdict.PASS);
  }

  @Test
  void aCheckWithoutDataCountsAsNeither_butWaitsAnotherInterval() {
    ThresholdPolicy p = ThresholdPolicy.start(0).record(result(Verdict.WAIT), 60_000);
    assertThat(p.checks()).isZero();
    assertThat(p.failures()).isZero();
    assertThat(p.lastCheckMillis()).isEqualTo(60_000);
    assertThat(p.due(SPEC, 100_000)).isFalse();
  }

  @Test
  void json_roundTrips_andAMissingStateStartsAfresh() {
    ThresholdPolicy p = ThresholdPolicy.start(5).record(result(Verdict.FAIL), 60_005).record(result(Verdict.PASS), 120_005);
    assertThat(ThresholdPolicy.fromJson(p.toJson(), 0)).isEqualTo(p);
    assertThat(ThresholdPolicy.fromJson(null, 42)).isEqualTo(ThresholdPolicy.start(42));
  }
}
