package dev.flightdeck.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Scenario files: mistakes are reported with the file and the field; latency follows its distribution. */
class ScenarioTest {

  private static void rejects(String yaml, String message) {
    assertThatThrownBy(() -> Scenario.parse("s.yaml", yaml)).hasMessage(message);
  }

  @Test
  void mistakesNameTheFileAndTheField() {
    rejects("rules: []", "s.yaml: models: expected a list of model ids, such as [gpt-4o-mini-2024-07-18]");
    rejects("models: [m]\nrules: [{when: {user: \"(\"}, reply: x}]",
        "s.yaml: rules[0].when.user: not a valid regular expression: Unclosed group near index 1");
    rejects("models: [m]\nrules: [{when: {system: \"[a\"}, reply: x}]",
        "s.yaml: rules[0].when.system: not a valid regular expression: Unclosed character class near index 1");
    rejects("models: [m]\nrules: [{when: {system: 3}, reply: x}]", "s.yaml: rules[0].when.system: expected a non-empty string");
    rejects("models: [m]\nrules: [{when: {prompt: x}, reply: x}]",
        "s.yaml: rules[0].when.prompt: unknown field; expected one of lastRole, system, tool, user");
    rejects("models: [m]\nrules: [{reply: x, colour: red}]",
        "s.yaml: rules[0].colour: unknown field; expected one of fault, latency, name, reply, toolCalls, usage, when");
    rejects("models: [m]\nrules: [{reply: x, fault: {kind: explode}}]",
        "s.yaml: rules[0].fault.kind: expected one of status, timeout, malformed, cut, burn, got \"explode\"");
    rejects("models: [m]\nrules: [{reply: x, fault: {kind: status, rate: 2}}]",
        "s.yaml: rules[0].fault.rate: expected a probability from 0 to 1, got 2");
    rejects("models: [m]\nlatency: {distribution: lognormal, median: 2s, p99: 1s}",
        "s.yaml: latency: a lognormal latency needs median > 0 and p99 >= median");
    rejects("models: [m]\nlatency: {value: soon}", "s.yaml: latency.value: expected a duration such as 250ms, 2s or 1m, got \"soon\"");
    rejects("models: [m]\nrules: [{when: {lastRole: robot}, reply: x}]",
        "s.yaml: rules[0].when.lastRole: expected one of user, tool, assistant, system, got \"robot\"");
    rejects("models: [m]\nrules: [{name: nothing}]", "s.yaml: rules[0]: expected reply or toolCalls (or a fault)");
    rejects("models: [m]\nrules: [{toolCalls: [{name: t, arguments: [1]}]}]",
        "s.yaml: rules[0].toolCalls[0].arguments: expected a mapping (the tool's JSON arguments)");
    assertThatThrownBy(() -> Scenario.parse("s.yaml", "models: [m\n")).hasMessageStartingWith("s.yaml: not valid YAML");
  }

  @Test
  void theExampleScenarioReads() {
    Scenario s = Scenario.read(java.nio.file.Path.of("..", "examples", "sim", "support-triage.yaml"));
    assertThat(s.models()).containsExactly("gpt-4o-mini-2024-07-18", "claude-sonnet-4-5");
    assertThat(s.rules()).extracting(Scenario.Rule::name)
        .containsExactly("v3-outage-loop", "v2-lookup", "v2-billing", "v2-account", "v2-incidents", "v2-search-export",
            "v2-search", "v2-general", "lookup-billing", "route-billing", "v1-search-incidents", "v1-search-account",
            "v1-search-export", "v1-search-general", "v1-incidents", "v1-account", "v1-general", "route-outage", "flaky",
            "stuck-in-a-loop");
    assertThat(s.rules().get(0).system().pattern()).isEqualTo("Knowledge base:");
    assertThat(s.latency().distribution()).isEqualTo("lognormal");
  }

  @Test
  void lognormalLatencyHasTheConfiguredMedianAndP99() {
    Scenario s = Scenario.parse("s.yaml", "models: [m]\nlatency: {distribution: lognormal, median: 200ms, p99: 1s}");
    SplittableRandom r = new SplittableRandom(1);
    long[] ms = new long[20_000];
    for (int i = 0; i < ms.length; i++) {
      ms[i] = SimulatedLlm.sample(s.latency(), r).toMillis();
    }
    Arrays.sort(ms);
    assertThat(ms[ms.length / 2]).isBetween(190L, 210L);
    assertThat(ms[(int) (ms.length * 0.99)]).isBetween(900L, 1100L);
  }

  @Test
  void uniformAndFixedLatencyStayInRange() {
    Scenario s = Scenario.parse("s.yaml", "models: [m]\nlatency: {distribution: uniform, min: 10ms, max: 20ms}");
    SplittableRandom r = new SplittableRandom(1);
    for (int i = 0; i < 1000; i++) {
      assertThat(SimulatedLlm.sample(s.latency(), r)).isBetween(Duration.ofMillis(10), Duration.ofMillis(20));
    }
    Scenario f = Scenario.parse("s.yaml", "models: [m]\nlatency: {value: 15ms}");
    assertThat(SimulatedLlm.sample(f.latency(), r)).isEqualTo(Duration.ofMillis(15));
  }
}
