package dev.flightdeck.eval.assertion;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.parse.Diagnostic;
import dev.flightdeck.api.parse.SourceMap;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.eval.pii.PiiDetector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Every assertion type with a run it passes and a run it fails, plus negation and compile errors. */
class AssertionsTest {

  static final AssertionContext CONTEXT = new AssertionContext(
      (a, b) -> a.equalsIgnoreCase(b) ? 1.0 : a.toLowerCase().contains("refund") == b.toLowerCase().contains("refund") ? 0.85 : 0.1,
      Optional.empty());

  static Assertion compile(String json) {
    List<Diagnostic> problems = new ArrayList<>();
    Optional<Assertion> a = Assertions.compile(Json.read(json), "assert[0]", SourceMap.none("t.yaml"),
        new Assertions.Inputs("q", false, PiiDetector.standard()), problems::add);
    assertThat(problems).as(json).isEmpty();
    return a.orElseThrow();
  }

  static List<String> errors(String json) {
    List<Diagnostic> problems = new ArrayList<>();
    Assertions.compile(Json.read(json), "assert[0]", SourceMap.none("t.yaml"),
        new Assertions.Inputs("q", false, PiiDetector.standard()), problems::add);
    return problems.stream().map(d -> d.path() + ": " + d.message()).toList();
  }

  static RunOutput answer(String text) {
    return run(text, "{\"answer\":" + Json.mapper().valueToTree(text) + "}", List.of());
  }

  static RunOutput run(String answer, String body, List<ToolCall> calls) {
    Optional<JsonNode> json;
    try {
      json = Optional.of(Json.read(body));
    } catch (RuntimeException e) {
      json = Optional.empty();
    }
    return new RunOutput(200, body, json, answer, calls, OptionalLong.of(150), OptionalDouble.of(0.002),
        Duration.ofMillis(120));
  }

  static ToolCall call(String name, String args) {
    return new ToolCall(name, Json.read(args), false);
  }

  static Check.Status check(String json, RunOutput run) {
    return compile(json).check(run, CONTEXT).status();
  }

  @Test
  void outputAssertions_passAndFail() {
    RunOutput billing = answer("Routed to Billing: the customer was charged twice.");
    assertThat(check("{\"type\":\"equals\",\"value\":\"routed to billing: the customer was charged twice.\",\"ignoreCase\":true}", billing)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"equals\",\"value\":\"Routed to Billing\"}", billing)).isEqualTo(Check.Status.FAIL);
    assertThat(check("{\"type\":\"equals\",\"value\":{\"queue\":\"billing\",\"p\":1}}", answer("{\"p\": 1.0, \"queue\": \"billing\"}"))).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"contains\",\"value\":\"Billing\"}", billing)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"contains\",\"value\":\"billing\"}", billing)).isEqualTo(Check.Status.FAIL);
    assertThat(check("{\"type\":\"contains\",\"value\":[\"billing\",\"twice\"],\"ignoreCase\":true}", billing)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"contains\",\"value\":[\"billing\",\"account\"],\"ignoreCase\":true}", billing)).isEqualTo(Check.Status.FAIL);
    assertThat(check("{\"type\":\"contains\",\"value\":[\"billing\",\"account\"],\"ignoreCase\":true,\"any\":true}", billing)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"regex\",\"value\":\"^Routed to \\\\w+:\"}", billing)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"regex\",\"value\":\"^Escalated\"}", billing)).isEqualTo(Check.Status.FAIL);
    RunOutput structured = run("x", "{\"answer\":\"x\",\"route\":{\"queue\":\"billing\",\"confidence\":0.92}}", List.of());
    assertThat(check("{\"type\":\"json-path\",\"path\":\"$.route.queue\",\"equals\":\"billing\"}", structured)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"json-path\",\"path\":\"$.route.queue\",\"equals\":\"account\"}", structured)).isEqualTo(Check.Status.FAIL);
    assertThat(check("{\"type\":\"json-path\",\"path\":\"$.route.queue\",\"matches\":\"^bill\"}", structured)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"json-path\",\"path\":\"$.route.escalate\"}", structured)).isEqualTo(Check.Status.FAIL);
    assertThat(check("{\"type\":\"json-path\",\"path\":\"$.route.escalate\",\"exists\":false}", structured)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"range\",\"path\":\"$.route.confidence\",\"min\":0.9,\"max\":1}", structured)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"range\",\"path\":\"$.route.confidence\",\"min\":0.95}", structured)).isEqualTo(Check.Status.FAIL);
    String schema = "{\"type\":\"json-schema\",\"schema\":{\"type\":\"object\",\"required\":[\"queue\"],\"properties\":{\"queue\":{\"enum\":[\"billing\",\"account\"]}}}}";
    assertThat(check(schema, answer("{\"queue\":\"billing\"}"))).isEqualTo(Check.Status.PASS);
    assertThat(check(schema, answer("{\"queue\":\"sales\"}"))).isEqualTo(Check.Status.FAIL);
    assertThat(check(schema, answer("not json at all"))).isEqualTo(Check.Status.FAIL);
    assertThat(check("{\"type\":\"latency\",\"max\":\"500ms\"}", billing)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"latency\",\"max\":\"100ms\"}", billing)).isEqualTo(Check.Status.FAIL);
    assertThat(check("{\"type\":\"tokens\",\"max\":200}", billing)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"tokens\",\"max\":100}", billing)).isEqualTo(Check.Status.FAIL);
    assertThat(check("{\"type\":\"cost\",\"max\":0.01}", billing)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"cost\",\"max\":0.001}", billing)).isEqualTo(Check.Status.FAIL);
    RunOutput noUsage = new RunOutput(200, "ok", Optional.empty(), "ok", List.of(), OptionalLong.empty(),
        OptionalDouble.empty(), Duration.ofMillis(1));
    assertThat(check("{\"type\":\"tokens\",\"max\":100}", noUsage)).isEqualTo(Check.Status.UNMEASURED);
    assertThat(check("{\"type\":\"semantic\",\"reference\":\"we will refund you\",\"minSimilarity\":0.8}", answer("A refund is on its way"))).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"semantic\",\"reference\":\"we will refund you\",\"minSimilarity\":0.8}", answer("Reset your password"))).isEqualTo(Check.Status.FAIL);
  }

  @Test
  void piiAssertion_failsWithoutRepeatingTheData() {
    Check c = compile("{\"type\":\"pii\"}").check(answer("Card 4111 1111 1111 1111, mail jane.doe@example.com"), CONTEXT);
    assertThat(c.status()).isEqualTo(Check.Status.FAIL);
    assertThat(c.message()).contains("card").contains("email").doesNotContain("4111").doesNotContain("jane.doe");
    assertThat(check("{\"type\":\"pii\"}", answer("Routed to billing."))).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"pii\",\"kinds\":[\"card\"]}", answer("mail jane.doe@example.com"))).isEqualTo(Check.Status.PASS);
  }

  @Test
  void negation_flipsPassAndFail_butNotUnmeasured() {
    RunOutput billing = answer("Routed to billing");
    assertThat(check("{\"type\":\"contains\",\"value\":\"account\",\"not\":true}", billing)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"contains\",\"value\":\"billing\",\"not\":true}", billing)).isEqualTo(Check.Status.FAIL);
    RunOutput noUsage = new RunOutput(200, "ok", Optional.empty(), "ok", List.of(), OptionalLong.empty(),
        OptionalDouble.empty(), Duration.ofMillis(1));
    assertThat(check("{\"type\":\"tokens\",\"max\":1,\"not\":true}", noUsage)).isEqualTo(Check.Status.UNMEASURED);
    assertThat(compile("{\"type\":\"contains\",\"value\":\"x\",\"not\":true}").label()).startsWith("not contains");
  }

  @Test
  void trajectoryAssertions_passAndFail() {
    List<ToolCall> calls = List.of(call("lookup_customer", "{\"email\":\"a@b.c\",\"fields\":[\"plan\"]}"),
        call("search_kb", "{\"query\":\"double charge refund\"}"), call("route", "{\"queue\":\"billing\"}"));
    RunOutput r = run("ok", "{}", calls);
    assertThat(check("{\"type\":\"tool-called\",\"tool\":\"route\",\"args\":{\"queue\":\"billing\"}}", r)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"tool-called\",\"tool\":\"route\",\"args\":{\"queue\":\"account\"}}", r)).isEqualTo(Check.Status.FAIL);
    assertThat(check("{\"type\":\"tool-called\",\"tool\":\"route\",\"max\":0}", r)).isEqualTo(Check.Status.FAIL);
    assertThat(check("{\"type\":\"tool-called\",\"tool\":\"escalate\"}", r)).isEqualTo(Check.Status.FAIL);
    assertThat(check("{\"type\":\"tool-not-called\",\"tool\":\"escalate\"}", r)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"tool-not-called\",\"tool\":\"route\"}", r)).isEqualTo(Check.Status.FAIL);
    assertThat(check("{\"type\":\"max-steps\",\"max\":3}", r)).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"max-steps\",\"max\":2}", r)).isEqualTo(Check.Status.FAIL);

    String strict = "{\"type\":\"trajectory\",\"mode\":\"%s\",\"argsMatch\":\"%s\",\"reference\":%s}";
    String full = "[{\"tool\":\"lookup_customer\",\"args\":{\"email\":\"a@b.c\",\"fields\":[\"plan\"]}},{\"tool\":\"search_kb\",\"args\":{\"query\":\"double charge refund\"}},{\"tool\":\"route\",\"args\":{\"queue\":\"billing\"}}]";
    String reordered = "[{\"tool\":\"route\",\"args\":{\"queue\":\"billing\"}},{\"tool\":\"lookup_customer\",\"args\":{\"email\":\"a@b.c\",\"fields\":[\"plan\"]}},{\"tool\":\"search_kb\",\"args\":{\"query\":\"double charge refund\"}}]";
    String two = "[{\"tool\":\"lookup_customer\"},{\"tool\":\"route\"}]";
    String four = full.substring(0, full.length() - 1) + ",{\"tool\":\"escalate\"}]";
    assertThat(check(strict.formatted("strict", "exact", full), r)).isEqualTo(Check.Status.PASS);
    assertThat(check(strict.formatted("strict", "exact", reordered), r)).isEqualTo(Check.Status.FAIL);
    assertThat(check(strict.formatted("unordered", "exact", reordered), r)).isEqualTo(Check.Status.PASS);
    assertThat(check(strict.formatted("unordered", "ignore", two), r)).isEqualTo(Check.Status.FAIL);
    assertThat(check(strict.formatted("superset", "ignore", two), r)).isEqualTo(Check.Status.PASS);
    assertThat(check(strict.formatted("superset", "exact", two), r)).isEqualTo(Check.Status.FAIL);
    assertThat(check(strict.formatted("subset", "ignore", two), r)).isEqualTo(Check.Status.FAIL);
    assertThat(check(strict.formatted("subset", "ignore", four), r)).isEqualTo(Check.Status.PASS);
    // argsMatch subset: the call's arguments are a subset of the reference's (agentevals).
    String bigger = "[{\"tool\":\"route\",\"args\":{\"queue\":\"billing\",\"priority\":\"high\"}}]";
    assertThat(check(strict.formatted("superset", "subset", bigger), r)).isEqualTo(Check.Status.PASS);
    assertThat(check(strict.formatted("superset", "superset", bigger), r)).isEqualTo(Check.Status.FAIL);
    // Per-field override: the query only has to contain a word.
    String fuzzy = "{\"type\":\"trajectory\",\"mode\":\"superset\",\"fields\":{\"query\":\"contains\"},"
        + "\"reference\":[{\"tool\":\"search_kb\",\"args\":{\"query\":\"refund\"}}]}";
    assertThat(check(fuzzy, r)).isEqualTo(Check.Status.PASS);
    assertThat(check(fuzzy.replace("\"refund\"", "\"password\""), r)).isEqualTo(Check.Status.FAIL);
  }

  @Test
  void unorderedMatching_findsThePairingAGreedyMatcherMisses() {
    // Reference 1 (ignore-any route) could take the only partner of reference 2 if paired greedily.
    List<ToolCall> calls = List.of(call("route", "{\"queue\":\"billing\"}"), call("route", "{\"queue\":\"account\"}"));
    String a = "{\"type\":\"trajectory\",\"mode\":\"unordered\",\"fields\":{\"queue\":\"regex\"},\"argsMatch\":\"exact\","
        + "\"reference\":[{\"tool\":\"route\",\"args\":{\"queue\":\".*\"}},{\"tool\":\"route\",\"args\":{\"queue\":\"^billing$\"}}]}";
    assertThat(check(a, run("ok", "{}", calls))).isEqualTo(Check.Status.PASS);
  }

  @Test
  void loopsAndRecovery() {
    ToolCall search = call("search_kb", "{\"query\":\"refund\"}");
    ToolCall sameSearchOtherKeyOrder = call("search_kb", "{ \"query\" : \"refund\" }");
    RunOutput looping = run("ok", "{}", List.of(search, sameSearchOtherKeyOrder, search, call("route", "{}")));
    assertThat(check("{\"type\":\"no-loop\",\"max\":2}", looping)).isEqualTo(Check.Status.FAIL);
    assertThat(check("{\"type\":\"no-loop\",\"max\":3}", looping)).isEqualTo(Check.Status.PASS);
    ToolCall failed = new ToolCall("lookup_customer", Json.read("{}"), true);
    ToolCall ok = call("lookup_customer", "{}");
    assertThat(check("{\"type\":\"tool-recovered\"}", run("ok", "{}", List.of(failed, ok)))).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"tool-recovered\"}", run("ok", "{}", List.of(ok, failed, call("route", "{}"))))).isEqualTo(Check.Status.FAIL);
    assertThat(check("{\"type\":\"tool-recovered\",\"sameTool\":false}", run("ok", "{}", List.of(failed, call("route", "{}"))))).isEqualTo(Check.Status.PASS);
    assertThat(check("{\"type\":\"tool-recovered\"}", run("ok", "{}", List.of(ok)))).isEqualTo(Check.Status.PASS);
  }

  @Test
  void compileErrors_sayWhatWhereAndWhatWasExpected() {
    assertThat(errors("{\"type\":\"contians\",\"value\":\"x\"}")).singleElement().asString()
        .contains("assert[0].type").contains("did you mean \"contains\"");
    assertThat(errors("{\"type\":\"regex\",\"value\":\"([a-z\"}")).singleElement().asString()
        .contains("assert[0].value").contains("regular expression");
    assertThat(errors("{\"type\":\"json-path\",\"path\":\"$.[[\"}")).singleElement().asString()
        .contains("assert[0].path").contains("JSON path");
    assertThat(errors("{\"type\":\"contains\",\"valeu\":\"x\"}")).anySatisfy(e -> assertThat(e).contains("did you mean \"value\""))
        .anySatisfy(e -> assertThat(e).contains("assert[0].value: required"));
    assertThat(errors("{\"type\":\"range\",\"path\":\"$.a\",\"min\":2,\"max\":1}")).singleElement().asString().contains("min <= max");
    assertThat(errors("{\"type\":\"pii\",\"kinds\":[\"passport\"]}")).singleElement().asString().contains("assert[0].kinds[0]");
    assertThat(errors("{\"type\":\"judge\",\"rubric\":\"relevance\"}")).singleElement().asString().contains("spec.judge");
    assertThat(errors("{\"type\":\"trajectory\",\"mode\":\"sorted\",\"reference\":[]}")).singleElement().asString()
        .contains("strict, unordered, subset, superset");
  }
}
