package dev.flightdeck.samples.triage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading a version's behaviour from its AgentVersion resource; mistakes name the file, document and field. */
class TriageConfigTest {

  static final URI SIM = URI.create("http://127.0.0.1:8089/v1");

  @TempDir Path dir;

  private static TriageConfig example(String version) {
    return TriageConfig.fromResources(SupportTriageAgentIT.RESOURCES, version, SIM, "sim-key");
  }

  private void rejects(String yaml, String message) throws IOException {
    Path f = dir.resolve("r.yaml");
    Files.writeString(f, yaml);
    assertThatThrownBy(() -> TriageConfig.fromResources(f, "v", SIM, "k")).hasMessage(message.replace("FILE", f.toString()));
  }

  private static String version(String spec) {
    return """
        apiVersion: flightdeck.dev/v1alpha1
        kind: Agent
        metadata: {name: a}
        ---
        apiVersion: flightdeck.dev/v1alpha1
        kind: AgentVersion
        metadata: {name: v}
        spec:
        """ + spec.indent(2);
  }

  @Test
  void readsTheThreeExampleVersions() {
    TriageConfig v1 = example("support-triage-v1");
    assertThat(v1.model()).isEqualTo("gpt-4o-mini-2024-07-18");
    assertThat(v1.systemPrompt()).contains("Search the knowledge base");
    assertThat(v1.maxToolCalls()).isEqualTo(4);
    assertThat(v1.knowledgeBaseInPrompt()).isFalse();
    TriageConfig v2 = example("support-triage-v2");
    assertThat(v2.systemPrompt()).contains("Look up the customer's plan and status first");
    assertThat(v2.maxToolCalls()).isEqualTo(6);
    TriageConfig v3 = example("support-triage-v3");
    assertThat(v3.systemPrompt()).isEqualTo(v2.systemPrompt());
    assertThat(v3.knowledgeBaseInPrompt()).isTrue();
    assertThat(v3.maxToolCalls()).isEqualTo(25);
    assertThat(v3.temperature()).isEqualTo(0.2);
    assertThat(v3.version()).isEqualTo("support-triage-v3");
  }

  @Test
  void defaultsApplyWithoutConfig() throws IOException {
    Path f = dir.resolve("r.yaml");
    Files.writeString(f, version("models: [{id: m}]\nprompt: {system: s}"));
    TriageConfig c = TriageConfig.fromResources(f, "v", SIM, "k");
    assertThat(c.temperature()).isEqualTo(0.2);
    assertThat(c.maxToolCalls()).isEqualTo(4);
    assertThat(c.knowledgeBaseInPrompt()).isFalse();
  }

  @Test
  void theKeyIsNeverPrinted() {
    assertThat(TriageConfig.fromResources(SupportTriageAgentIT.RESOURCES, "support-triage-v1", SIM, "fdk_secret").toString())
        .doesNotContain("fdk_secret").contains("support-triage-v1");
  }

  @Test
  void mistakesNameTheFileTheDocumentAndTheField() throws IOException {
    String at = "FILE: document 2 (AgentVersion v): ";
    rejects(version("prompt: {system: s}"), at + "spec.models[0].id: expected the model id the agent calls");
    rejects(version("models: []\nprompt: {system: s}"), at + "spec.models[0].id: expected the model id the agent calls");
    rejects(version("models: [{id: m}]"), at + "spec.prompt.system: expected the system prompt (a non-empty string)");
    rejects(version("models: [{id: m}]\nprompt: {system: s}\nconfig: {temprature: 0.1}"),
        at + "spec.config.temprature: unknown key; this agent reads knowledgeBaseInPrompt, maxToolCalls, temperature");
    rejects(version("models: [{id: m}]\nprompt: {system: s}\nconfig: {maxToolCalls: 0}"),
        at + "spec.config.maxToolCalls: expected an integer from 1 to 100, got 0");
    rejects(version("models: [{id: m}]\nprompt: {system: s}\nconfig: {maxToolCalls: \"4\"}"),
        at + "spec.config.maxToolCalls: expected an integer from 1 to 100, got \"4\"");
    rejects(version("models: [{id: m}]\nprompt: {system: s}\nconfig: {temperature: 3}"),
        at + "spec.config.temperature: expected a number from 0 to 2, got 3");
    rejects(version("models: [{id: m}]\nprompt: {system: s}\nconfig: {knowledgeBaseInPrompt: yes please}"),
        at + "spec.config.knowledgeBaseInPrompt: expected true or false, got \"yes please\"");
    rejects(version("models: [{id: m}]\nprompt: {system: s}\nconfig: [1]"),
        at + "spec.config: expected a mapping with knowledgeBaseInPrompt, maxToolCalls, temperature");
    rejects("kind: Agent\nmetadata: {name: a}\n", "FILE: no AgentVersion named \"v\"; the file has no AgentVersion documents");
    Files.writeString(dir.resolve("r.yaml"), "kind: [\n");
    assertThatThrownBy(() -> TriageConfig.fromResources(dir.resolve("r.yaml"), "v", SIM, "k"))
        .hasMessageStartingWith(dir.resolve("r.yaml") + ":1:8: not valid YAML: while parsing a flow node");
  }

  @Test
  void anUnknownVersionListsTheKnownOnes() {
    assertThatThrownBy(() -> example("support-triage-v9")).hasMessage(SupportTriageAgentIT.RESOURCES
        + ": no AgentVersion named \"support-triage-v9\"; it has support-triage-v1, support-triage-v2, support-triage-v3");
  }

  @Test
  void aMissingFileOrBadSettingsAreReported() {
    assertThatThrownBy(() -> TriageConfig.fromResources(dir.resolve("nope.yaml"), "v", SIM, "k"))
        .hasMessageStartingWith("cannot read " + dir.resolve("nope.yaml"));
    assertThatThrownBy(() -> TriageConfig.fromResources(SupportTriageAgentIT.RESOURCES, "support-triage-v1",
        URI.create("ftp://x/v1"), "k")).hasMessageContaining("model base URL must be an http(s) URL");
    assertThatThrownBy(() -> TriageConfig.fromResources(SupportTriageAgentIT.RESOURCES, "support-triage-v1", SIM, " "))
        .hasMessage("apiKey must not be empty");
  }
}
