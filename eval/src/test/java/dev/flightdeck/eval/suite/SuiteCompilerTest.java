package dev.flightdeck.eval.suite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flightdeck.api.InvalidResourceException;
import dev.flightdeck.api.parse.Diagnostic;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SuiteCompilerTest {

  @TempDir Path dir;

  static final String HEADER = """
      apiVersion: flightdeck.dev/v1alpha1
      kind: EvalSuite
      metadata:
        name: triage
      spec:
      """;

  Path write(String name, String text) throws Exception {
    Path p = dir.resolve(name);
    Files.writeString(p, text);
    return p;
  }

  Suite load(String spec) throws Exception {
    return SuiteCompiler.withEnv(Map.of("AGENT_TOKEN", "s3cret")::get).load(write("suite.yaml", HEADER + spec), Optional.empty());
  }

  List<String> problems(String spec) {
    try {
      load(spec);
    } catch (InvalidResourceException e) {
      return e.diagnostics().stream().map(Diagnostic::toString).toList();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("expected the suite to be rejected");
  }

  @Test
  void rendersRequestsAndAssertionsPerCase_withTypedVariables() throws Exception {
    Suite s = load("""
          target: http://127.0.0.1:9101
          runs: 3
          vars: {priority: 2}
          request:
            path: /triage/${lang}
            headers: {Authorization: "Bearer ${env:AGENT_TOKEN}"}
            body: {ticket: "${ticket}", priority: "${priority}", meta: {text: "p=${priority}"}}
          assert:
            - {type: contains, value: "${queue}", ignoreCase: true}
          cases:
            - name: refund
              vars: {ticket: I was charged twice, queue: billing, lang: en}
              assert: [{type: tool-called, tool: route}]
        """);
    assertThat(s.runs()).isEqualTo(3);
    Suite.EvalCase c = s.cases().get(0);
    assertThat(c.request().path()).isEqualTo("/triage/en");
    assertThat(c.request().headers()).containsEntry("Authorization", "Bearer s3cret");
    assertThat(c.request().body().orElseThrow().toString())
        .isEqualTo("{\"ticket\":\"I was charged twice\",\"priority\":2,\"meta\":{\"text\":\"p=2\"}}");
    assertThat(c.assertions()).extracting(a -> a.label()).containsExactly("contains \"billing\"", "tool-called route");
  }

  @Test
  void casesFromCsvJsonlAndYaml_addUpAndKeepTheirOwnPositions() throws Exception {
    write("cases.csv", "name,ticket,queue\nrefund,\"charged twice, refund\",billing\n,cannot log in,account\n");
    write("cases.jsonl", "{\"name\":\"j1\",\"vars\":{\"ticket\":\"a\",\"queue\":\"x\"}}\n{\"name\":\"j2\",\"vars\":{\"ticket\":\"b\",\"queue\":\"y\"},\"assert\":[{\"type\":\"regex\",\"value\":\"y\"}]}\n");
    write("cases.yaml", "cases:\n  - name: y1\n    vars: {ticket: c, queue: z}\n");
    String spec = """
          request: {body: {ticket: "${ticket}"}}
          assert: [{type: contains, value: "${queue}"}]
          casesFrom: %s
        """;
    assertThat(load(spec.formatted("cases.csv")).cases()).extracting(Suite.EvalCase::name).containsExactly("refund", "row-2");
    assertThat(load(spec.formatted("cases.csv")).cases().get(0).request().body().orElseThrow().path("ticket").asText())
        .isEqualTo("charged twice, refund");
    assertThat(load(spec.formatted("cases.jsonl")).cases()).extracting(c -> c.assertions().size()).containsExactly(1, 2);
    assertThat(load(spec.formatted("cases.yaml")).cases()).extracting(Suite.EvalCase::name).containsExactly("y1");
  }

  @Test
  void brokenSuite_reportsEveryProblemWithFileLineAndField() {
    List<String> p = problems("""
          runs: many
          cases:
            - name: a
              assert:
                - {type: contians, value: x}
                - {type: regex, value: "([a-z"}
            - name: b
              assert: [{type: latency, max: soon}]
        """);
    assertThat(p).anySatisfy(e -> assertThat(e).contains("suite.yaml:6:").contains("spec.runs"));
  }

  @Test
  void brokenAssertions_passingTheSchema_areReportedByTheCompilerWithPositions() {
    List<String> p = problems("""
          cases:
            - name: a
              assert:
                - {type: regex, value: "([a-z"}
                - {type: json-path, path: "$.[["}
            - name: b
              assert: [{type: contains, value: "${missing}"}]
        """);
    assertThat(p).hasSize(3);
    assertThat(p.get(0)).contains("suite.yaml:9:").contains("spec.cases[0].assert[0].value").contains("regular expression");
    assertThat(p.get(1)).contains("suite.yaml:10:").contains("spec.cases[0].assert[1].path");
    assertThat(p.get(2)).contains("suite.yaml:12:").contains("unknown variable ${missing}");
  }

  @Test
  void schemaErrors_inAssertions_namePositionAndExpectation() {
    List<String> p = problems("""
          cases:
            - name: a
              assert:
                - {type: contians, value: x}
                - {type: contains, valeu: x}
        """);
    assertThat(p).anySatisfy(e -> assertThat(e).contains("suite.yaml:9:").contains("did you mean \"contains\""));
    assertThat(p).anySatisfy(e -> assertThat(e).contains("suite.yaml:10:").contains("did you mean \"value\""));
  }

  @Test
  void caseFileMistakes_pointIntoTheCaseFile() throws Exception {
    write("bad.jsonl", "{\"name\":\"ok\",\"vars\":{\"q\":\"x\"}}\n{\"name\":\"dup\"}\n{\"name\":\"dup\",\"assert\":[{\"type\":\"nope\"}]}\n{\"nmae\":\"typo\"}\n");
    List<String> p = problems("""
          assert: [{type: contains, value: ok}]
          casesFrom: bad.jsonl
        """);
    assertThat(p).anySatisfy(e -> assertThat(e).contains("bad.jsonl:3:").contains("unknown assertion type \"nope\""));
    assertThat(p).anySatisfy(e -> assertThat(e).contains("bad.jsonl:4:").contains("unknown field"));
    assertThat(p).anySatisfy(e -> assertThat(e).contains("bad.jsonl:4:").contains("expected a case name"));
  }

  @Test
  void duplicateCaseNames_andMissingFiles_areErrors() throws Exception {
    write("more.yaml", "- {name: a}\n");
    assertThat(problems("""
          assert: [{type: contains, value: ok}]
          cases: [{name: a}]
          casesFrom: more.yaml
        """)).anySatisfy(e -> assertThat(e).contains("more.yaml:1:").contains("defined twice (first at"));
    assertThat(problems("""
          assert: [{type: contains, value: ok}]
          casesFrom: nowhere.csv
        """)).singleElement().asString().contains("spec.casesFrom").contains("no such file");
  }

  @Test
  void aCaseWithoutAssertions_isRejected() {
    assertThat(problems("""
          cases: [{name: lonely}]
        """)).singleElement().asString().contains("has no assertions");
  }

  @Test
  void severalSuitesInOneFile_needAName() throws Exception {
    Path p = write("two.yaml", HEADER + "  cases: [{name: a, assert: [{type: contains, value: x}]}]\n---\n"
        + HEADER.replace("triage", "other") + "  cases: [{name: a, assert: [{type: contains, value: x}]}]\n");
    assertThatThrownBy(() -> SuiteCompiler.standard().load(p, Optional.empty()))
        .hasMessageContaining("pick one with --suite");
    assertThat(SuiteCompiler.standard().load(p, Optional.of("other")).name()).isEqualTo("other");
  }
}
