package dev.flightdeck.rollout.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flightdeck.api.resource.Json;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class AnalysisSpecTest {

  private final List<String> problems = new ArrayList<>();

  private Optional<AnalysisSpec> parse(String json) {
    return AnalysisSpec.parse(Json.read(json), "spec.analysis", problems);
  }

  @Test
  void parse_fillsTheDefaults() {
    AnalysisSpec s = parse("{\"metrics\": [{\"name\": \"errorRate\", \"maxIncrease\": 0.01}]}").orElseThrow();
    assertThat(problems).isEmpty();
    assertThat(s.alpha()).isEqualTo(0.01);
    assertThat(s.minSamples()).isEqualTo(100);
    assertThat(s.deadline()).isEmpty();
    assertThat(s.mode()).isEqualTo(AnalysisSpec.Mode.SEQUENTIAL);
    assertThat(s.interval()).isEqualTo(Duration.ofMinutes(1));
    assertThat(s.failureLimit()).isEqualTo(5);
    assertThat(s.count()).isEqualTo(5);
    MetricSpec m = s.metrics().getFirst();
    assertThat(m.type()).isEqualTo(MetricSpec.Type.RATE);
    assertThat(m.key()).isEqualTo(Arm.ERRORS);
    assertThat(m.limits()).containsExactly(new Limit.MaxIncrease(0.01));
  }

  @Test
  void parse_readsEveryField() {
    AnalysisSpec s = parse("{\"mode\": \"threshold\", \"alpha\": 0.05, \"minSamples\": 500, \"deadline\": \"10m\","
        + " \"interval\": \"30s\", \"failureLimit\": 3, \"count\": 10, \"metrics\": [{\"name\": \"latencyP95\","
        + " \"max\": 1500, \"maxRatio\": 1.2}, {\"name\": \"toolErrorRate\", \"max\": 0.1}]}").orElseThrow();
    assertThat(problems).isEmpty();
    assertThat(s.mode()).isEqualTo(AnalysisSpec.Mode.THRESHOLD);
    assertThat(s.alpha()).isEqualTo(0.05);
    assertThat(s.minSamples()).isEqualTo(500);
    assertThat(s.deadline()).contains(Duration.ofMinutes(10));
    assertThat(s.interval()).isEqualTo(Duration.ofSeconds(30));
    assertThat(s.failureLimit()).isEqualTo(3);
    assertThat(s.count()).isEqualTo(10);
    assertThat(s.checks()).isEqualTo(3);
    assertThat(s.metrics().getFirst().quantile()).isEqualTo(0.95);
    assertThat(s.metrics().getFirst().limits()).containsExactly(new Limit.Max(1500), new Limit.MaxRatio(1.2));
    assertThat(s.metrics().get(1).type()).isEqualTo(MetricSpec.Type.MEAN);
  }

  @Test
  void parse_rejectsAnUnknownMetric_listingTheKnownOnes() {
    assertThat(parse("{\"metrics\": [{\"name\": \"errorRte\", \"max\": 0.1}]}")).isEmpty();
    assertThat(problems).singleElement().asString()
        .startsWith("spec.analysis.metrics[0].name: unknown metric \"errorRte\"; expected one of ")
        .contains(String.join(", ", MetricSpec.builtIns()))
        .contains("errorRate, humanOverrides, latencyP50")
        .endsWith("or a custom metric with a header field");
  }

  @Test
  void parse_rejectsAMetricWithoutLimit() {
    assertThat(parse("{\"metrics\": [{\"name\": \"errorRate\"}]}")).isEmpty();
    assertThat(problems).containsExactly(
        "spec.analysis.metrics[0]: metric errorRate states no limit; expected at least one of max, min, maxIncrease, maxRatio");
  }

  @Test
  void parse_rejectsMinOnAQuantile() {
    assertThat(parse("{\"metrics\": [{\"name\": \"latencyP99\", \"min\": 10}]}")).isEmpty();
    assertThat(problems).containsExactly(
        "spec.analysis.metrics[0].min: a latency quantile takes max, maxIncrease or maxRatio, not min");
  }

  @Test
  void parse_rejectsRelativeLimitsOnShadowDivergence() {
    assertThat(parse("{\"metrics\": [{\"name\": \"shadowDivergence\", \"maxIncrease\": 0.01}]}")).isEmpty();
    assertThat(problems).containsExactly(
        "spec.analysis.metrics[0]: shadowDivergence is measured on the candidate only (stable has no shadow); use max");
    problems.clear();
    assertThat(parse("{\"metrics\": [{\"name\": \"shadowDivergence\", \"max\": 0.05}]}")).isPresent();
    assertThat(problems).isEmpty();
  }

  @Test
  void parse_rejectsAHeaderOutsideTheMetricPrefix() {
    assertThat(parse("{\"metrics\": [{\"name\": \"quality\", \"header\": \"X-Quality\", \"min\": 0.8},"
        + " {\"name\": \"empty\", \"header\": \"X-Flightdeck-Metric-\", \"max\": 1}]}")).isEmpty();
    assertThat(problems).containsExactly(
        "spec.analysis.metrics[0].header: expected a header named X-Flightdeck-Metric-<Name>, got \"X-Quality\"",
        "spec.analysis.metrics[1].header: expected a header named X-Flightdeck-Metric-<Name>, got \"X-Flightdeck-Metric-\"");
  }

  @Test
  void parse_takesTheHeaderNameCaseInsensitively_asTheArmKey() {
    MetricSpec m = parse("{\"metrics\": [{\"name\": \"quality\", \"header\": \"x-flightdeck-metric-Answer-Quality\","
        + " \"min\": 0.8}]}").orElseThrow().metrics().getFirst();
    assertThat(m.key()).isEqualTo("answer-quality");
    assertThat(m.type()).isEqualTo(MetricSpec.Type.MEAN);
  }

  @Test
  void parse_rejectsNoMetrics_aBadAlpha_andBadDurations() {
    assertThat(parse("{\"metrics\": [], \"alpha\": 0.7, \"deadline\": \"soon\", \"interval\": \"0s\"}")).isEmpty();
    assertThat(problems).hasSize(4);
    assertThat(problems.get(0)).isEqualTo("spec.analysis.metrics: expected at least one metric");
    assertThat(problems.get(1)).isEqualTo("spec.analysis.alpha: expected a number in (0, 0.5], got 0.7");
    assertThat(problems.get(2)).startsWith("spec.analysis.deadline: ");
    assertThat(problems.get(3)).isEqualTo("spec.analysis.interval: expected a positive duration");
  }

  @Property(tries = 200)
  void parse_neverThrows_andReportsAProblemWheneverItRefuses(@ForAll String name, @ForAll String field,
      @ForAll double value) {
    List<String> found = new ArrayList<>();
    var metric = Json.object().put("name", name).put(field, value);
    var analysis = Json.object();
    analysis.putArray("metrics").add(metric);
    Optional<AnalysisSpec> s = AnalysisSpec.parse(analysis, "a", found);
    assertThat(s.isPresent()).isEqualTo(found.isEmpty());
  }
}
