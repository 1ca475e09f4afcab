package dev.flightdeck.api.parse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flightdeck.api.InvalidResourceException;
import dev.flightdeck.api.resource.Kind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResourceReaderTest {

  private static final ResourceReader READER = new ResourceReader();

  private static List<String> errors(String name, String text) {
    try {
      READER.read(ResourceReader.Source.of(name, text));
    } catch (InvalidResourceException e) {
      return e.diagnostics().stream().map(Diagnostic::toString).toList();
    }
    return List.of();
  }

  @Test
  void readsTheExamples() throws Exception {
    for (String f : List.of("support-triage.yaml", "rollouts/canary.yaml", "evalsuite.yaml")) {
      Path p = Path.of("..", "examples", f);
      List<ParsedResource> r = READER.read(new ResourceReader.Source(f, Files.readAllBytes(p)));
      assertThat(r).isNotEmpty();
    }
    List<ParsedResource> triage = READER.read(new ResourceReader.Source("t.yaml",
        Files.readAllBytes(Path.of("..", "examples", "support-triage.yaml"))));
    assertThat(triage).extracting(p -> p.resource().kind())
        .containsExactly(Kind.AGENT, Kind.AGENT_VERSION, Kind.AGENT_VERSION, Kind.AGENT_VERSION);
    assertThat(triage.get(0).resource().metadata().labels()).containsEntry("team", "support");
  }

  @Test
  void theBrokenExampleInTheDocsFailsExactlyAsDocumented() throws Exception {
    String name = "docs/examples/broken-agent.yaml";
    String text = Files.readString(Path.of("..", name));
    String doc = Files.readString(Path.of("..", "docs", "resources.md"));
    List<String> got = errors(name, text);
    assertThat(got).hasSize(3);
    for (String line : got) {
      assertThat(doc).as("docs/resources.md shows " + line).contains(line);
    }
  }

  @Test
  void reportsWrongTypeWithLineColumnPathAndExpectation() {
    String yaml = """
        apiVersion: flightdeck.dev/v1alpha1
        kind: Agent
        metadata:
          name: a
        spec:
          routes:
            - version: a-v1
              weight: ten
        """;
    assertThat(errors("agent.yaml", yaml))
        .containsExactly("agent.yaml:8:15: spec.routes[0].weight: expected an integer 0..100, got \"ten\"");
  }

  @Test
  void reportsEveryErrorInAFileAtOnce_acrossDocuments() {
    String yaml = """
        apiVersion: flightdeck.dev/v1alpha1
        kind: Agent
        metadata:
          name: Bad_Name
        spec:
          rootes: []
        ---
        apiVersion: flightdeck.dev/v1alpha1
        kind: AgentVersion
        metadata:
          name: a-v1
        spec:
          agent: a
          endpoints:
            - url: ftp://nope
          models:
            - id: gpt-4o-latest
        """;
    assertThat(errors("f.yaml", yaml)).containsExactly(
        "f.yaml:4:9: metadata.name: expected a name of 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit, got \"Bad_Name\"",
        "f.yaml:6:3: spec.rootes: unknown field; did you mean \"routes\"? expected one of description, owner, hosts, routes, rules, session, shadow, capacity, modelGateway",
        "f.yaml:15:12: spec.endpoints[0].url: expected an http:// or https:// URL such as http://127.0.0.1:9101, got \"ftp://nope\"",
        "f.yaml:17:11: spec.models[0].id: expected a pinned model id such as gpt-4o-2024-08-06, got the alias \"gpt-4o-latest\" (set spec.allowModelAliases: true to accept aliases)");
  }

  @Test
  void rejectsModelAliases_unlessAllowed() {
    String yaml = """
        apiVersion: flightdeck.dev/v1alpha1
        kind: AgentVersion
        metadata: {name: a-v1}
        spec:
          agent: a
          endpoints: [{url: "http://127.0.0.1:1"}]
          models:
            - id: gpt-4o-latest
        """;
    assertThat(errors("v.yaml", yaml)).singleElement().asString()
        .startsWith("v.yaml:8:11: spec.models[0].id: expected a pinned model id")
        .contains("allowModelAliases");
    assertThat(errors("v.yaml", yaml.replace("spec:\n", "spec:\n  allowModelAliases: true\n"))).isEmpty();
  }

  @Test
  void missingRequiredFieldsAndUnknownKind() {
    String yaml = """
        apiVersion: flightdeck.dev/v1alpha1
        kind: Agnet
        metadata: {name: a}
        spec: {}
        ---
        apiVersion: flightdeck.dev/v1
        kind: AgentVersion
        metadata: {name: b}
        spec:
          endpoints: [{url: "http://x"}]
        """;
    assertThat(errors("k.yaml", yaml)).containsExactly(
        "k.yaml:2:7: kind: unknown kind \"Agnet\"; did you mean \"Agent\"? expected one of Agent, AgentVersion, Rollout, EvalSuite, ModelProvider, Budget",
        "k.yaml:6:13: apiVersion: expected flightdeck.dev/v1alpha1, got \"flightdeck.dev/v1\"",
        "k.yaml:10:3: spec.agent: required field is missing",
        "k.yaml:10:3: spec.models: required field is missing");
  }

  @Test
  void weightsMustAddUpTo100() {
    String yaml = """
        apiVersion: flightdeck.dev/v1alpha1
        kind: Agent
        metadata: {name: a}
        spec:
          routes:
            - {version: a-v1, weight: 50}
            - {version: a-v2, weight: 40}
        """;
    assertThat(errors("w.yaml", yaml)).containsExactly(
        "w.yaml:6:5: spec.routes: expected weights that add up to 100, got 90");
  }

  @Test
  void rolloutStepNeedsExactlyOneAction() {
    String yaml = """
        apiVersion: flightdeck.dev/v1alpha1
        kind: Rollout
        metadata: {name: r}
        spec:
          agent: a
          candidate: a-v2
          strategy:
            canary:
              steps:
                - setWeight: 10
                  pause: {duration: 5m}
                - setWieght: 20
        """;
    assertThat(errors("r.yaml", yaml)).containsExactly(
        "r.yaml:10:11: spec.strategy.canary.steps[0]: expected exactly one of setWeight, pause, analysis, shadow, evalGate, got setWeight, pause",
        "r.yaml:12:11: spec.strategy.canary.steps[1].setWieght: unknown field; did you mean \"setWeight\"? expected one of setWeight, pause, analysis, shadow, evalGate");
  }

  @Test
  void analysisMetricsNeedAKnownNameOrAHeader_aLimit_andALimitTheirTypeTakes() {
    String yaml = """
        apiVersion: flightdeck.dev/v1alpha1
        kind: Rollout
        metadata: {name: r}
        spec:
          agent: a
          candidate: a-v2
          strategy:
            canary:
              steps:
                - analysis:
                    metrics:
                      - {name: errrorRate, maxIncrease: 0.01}
                      - {name: latencyP95}
                      - {name: latencyP99, min: 10}
                      - {name: shadowDivergence, maxRatio: 2}
                      - {name: escalations, header: X-Escalations, max: 1}
                      - {name: escalations, header: X-Flightdeck-Metric-Escalations, max: 1}
        """;
    List<String> e = errors("r.yaml", yaml);
    assertThat(e).as(String.join("\n", e)).hasSize(5);
    assertThat(e.get(0)).startsWith("r.yaml:12:24: spec.strategy.canary.steps[0].analysis.metrics[0].name:").contains("errorRate");
    assertThat(e.get(1)).startsWith("r.yaml:13:17: spec.strategy.canary.steps[0].analysis.metrics[1]:")
        .contains("at least one of max, min, maxIncrease, maxRatio");
    assertThat(e).anyMatch(x -> x.contains("metrics[2].min: a latency quantile takes max, maxIncrease or maxRatio"));
    assertThat(e).anyMatch(x -> x.contains("metrics[3]: shadowDivergence is measured on the candidate only"));
    assertThat(e).anyMatch(x -> x.contains("metrics[4].header:") && x.contains("X-Flightdeck-Metric-<Name>"));
  }

  @Test
  void ringsNeedSomeoneToRouteAndUniqueNames() {
    String yaml = """
        apiVersion: flightdeck.dev/v1alpha1
        kind: Rollout
        metadata: {name: r}
        spec:
          agent: a
          candidate: a-v2
          strategy:
            rings:
              rings:
                - {name: staff}
                - {name: staff, percent: 10}
        """;
    assertThat(errors("r.yaml", yaml)).containsExactlyInAnyOrder(
        "r.yaml:10:11: spec.strategy.rings.rings[0]: expected headers, users or percent (who this ring sends to the candidate)",
        "r.yaml:11:18: spec.strategy.rings.rings[1].name: \"staff\" is used twice; expected unique names");
  }

  @Test
  void syntaxErrorsAndDuplicateKeysArePositioned() {
    assertThat(errors("s.yaml", "apiVersion: [unclosed\n")).singleElement().asString()
        .isEqualTo("s.yaml:2:1: invalid YAML: while parsing a flow sequence: expected ',' or ']', but got <stream end>");
    String dup = """
        apiVersion: flightdeck.dev/v1alpha1
        kind: Agent
        metadata: {name: a}
        spec: {}
        kind: Agent
        """;
    assertThat(errors("d.yaml", dup)).contains("d.yaml:5:1: kind: duplicate field \"kind\" (first at line 2)");
    assertThat(errors("j.json", "{\"apiVersion\": ")).singleElement().asString()
        .startsWith("j.json:1:").contains("invalid JSON");
  }

  @Test
  void jsonDocumentsAndArraysArePositionedToo() {
    String json = "[\n{\"apiVersion\":\"flightdeck.dev/v1alpha1\",\"kind\":\"Agent\",\"metadata\":{\"name\":\"a\"},\"spec\":{}},\n"
        + "{\"apiVersion\":\"flightdeck.dev/v1alpha1\",\"kind\":\"Agent\",\"metadata\":{\"name\":\"b\"},\"spec\":{\"owner\":7}}\n]";
    assertThat(errors("a.json", json)).containsExactly("a.json:3:96: spec.owner: expected a string of at most 253 characters, got 7");
  }

  @Test
  void sameResourceTwiceInOneBatchIsNamed() {
    String a = "apiVersion: flightdeck.dev/v1alpha1\nkind: Agent\nmetadata: {name: a}\nspec: {}\n";
    assertThatThrownBy(() -> READER.readAll(List.of(ResourceReader.Source.of("one.yaml", a),
        ResourceReader.Source.of("two.yaml", a))))
        .isInstanceOf(InvalidResourceException.class)
        .hasMessageContaining("two.yaml:3:18: metadata.name: agent/a is defined twice in this batch (first at one.yaml:3)");
  }

  @Test
  void statusFromUsersIsIgnored() {
    String yaml = "apiVersion: flightdeck.dev/v1alpha1\nkind: Agent\nmetadata: {name: a, resourceVersion: \"12\"}\nspec: {}\nstatus: {phase: Healthy}\n";
    var r = READER.read(ResourceReader.Source.of("a.yaml", yaml)).get(0).resource();
    assertThat(r.status().isEmpty()).isTrue();
    assertThat(r.metadata().resourceVersion()).isEqualTo(12);
  }

  @Test
  void nonUtf8AndOversizedInputGetClearErrors() {
    assertThatThrownBy(() -> READER.read(new ResourceReader.Source("b.yaml", new byte[] {(byte) 0xC3, (byte) 0x28})))
        .hasMessageContaining("b.yaml: expected UTF-8 text");
    byte[] big = new byte[ResourceReader.MAX_FILE_BYTES + 1];
    assertThatThrownBy(() -> READER.read(new ResourceReader.Source("big.yaml", big)))
        .hasMessageContaining("expected at most 4194304 bytes");
  }

  @Test
  void listsGivenAsMappingsAreSchemaErrorsNotCrashes() {
    // Found by ResourceReaderFuzzTest: the kind rules indexed these as lists.
    assertThat(errors("v.yaml", """
        apiVersion: flightdeck.dev/v1alpha1
        kind: AgentVersion
        metadata: {name: v1}
        spec:
          agent: a
          endpoints: [{url: "http://127.0.0.1:9101"}]
          models: {id: gpt-4o-mini-2024-07-18}
        """)).singleElement().asString().contains("spec.models").contains("expected");
    assertThat(errors("a.yaml", """
        apiVersion: flightdeck.dev/v1alpha1
        kind: Agent
        metadata: {name: a}
        spec:
          routes: [{version: v1, weight: 100}]
          rules: {name: x}
        """)).singleElement().asString().contains("spec.rules").contains("expected");
  }
}
