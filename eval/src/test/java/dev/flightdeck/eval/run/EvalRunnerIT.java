package dev.flightdeck.eval.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flightdeck.api.resource.Json;
import dev.flightdeck.eval.assertion.AssertionContext;
import dev.flightdeck.eval.assertion.Judge;
import dev.flightdeck.eval.report.EvalReport;
import dev.flightdeck.eval.report.HtmlReport;
import dev.flightdeck.eval.report.JunitXml;
import dev.flightdeck.eval.report.MarkdownSummary;
import dev.flightdeck.eval.report.RunRecord;
import dev.flightdeck.eval.stats.CaseTally;
import dev.flightdeck.eval.suite.Suite;
import dev.flightdeck.eval.suite.SuiteCompiler;
import dev.flightdeck.sim.Scenario;
import dev.flightdeck.sim.SimulatedLlm;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner against real agents over loopback HTTP: repeats, flakiness, timeouts, retries, cache, adaptive, judge. */
class EvalRunnerIT {

  @TempDir Path dir;

  static final String SUITE = """
      apiVersion: flightdeck.dev/v1alpha1
      kind: EvalSuite
      metadata: {name: triage}
      spec:
        runs: %d
        concurrency: 8
        timeout: %s
        retries: 1
        threshold: 0.6
        request: {path: /triage, body: {ticket: "${ticket}"}}
        extract: {answer: $.answer, trajectory: $.trajectory}
        assert: [{type: contains, value: "${queue}"}]
        cases:
          - {name: stable, vars: {ticket: "charged twice", queue: billing}}
          - {name: flaky, vars: {ticket: "cannot log in", queue: account}}
          - {name: broken, vars: {ticket: "the app crashes", queue: bugs}, assert: [{type: tool-called, tool: file_bug}]}
      """;

  Suite suite(int runs, String timeout) throws Exception {
    Path p = dir.resolve("suite-" + runs + ".yaml");
    Files.writeString(p, SUITE.formatted(runs, timeout));
    return SuiteCompiler.standard().load(p, Optional.empty());
  }

  /** billing always right; account right on even runs only; bugs never. */
  static TestAgent.Reply triage(TestAgent.Request r) {
    String queue = r.ticket().contains("charged") ? "billing"
        : r.ticket().contains("log in") ? (r.run() % 2 == 0 ? "account" : "general") : "general";
    return TestAgent.Reply.json("{\"answer\":\"Routed to " + queue + "\",\"trajectory\":[{\"name\":\"route\","
        + "\"arguments\":{\"queue\":\"" + queue + "\"}}],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20}}");
  }

  private final List<EvalRunner> runners = new java.util.ArrayList<>();

  @org.junit.jupiter.api.AfterEach
  void closeRunners() {
    runners.forEach(EvalRunner::close);
  }

  EvalRunner runner(Optional<RunCache> cache) {
    EvalRunner r = new EvalRunner(new AssertionContext((a, b) -> 0, Optional.empty()), cache, Progress.NONE);
    runners.add(r);
    return r;
  }

  @Test
  void repeatsEachCase_andTellsStableFlakyAndBrokenApart() throws Exception {
    try (TestAgent agent = new TestAgent(EvalRunnerIT::triage)) {
      Suite s = suite(10, "5s");
      EvalRunner.Result result = runner(Optional.empty()).run(s, Target.url(agent.url()));
      EvalReport report = EvalReport.build(s, agent.url(), result, Optional.empty());

      assertThat(agent.requests.get()).isEqualTo(30);
      assertThat(report.cases()).extracting(EvalReport.CaseReport::passRate).containsExactly(1.0, 0.5, 0.0);
      assertThat(report.cases()).extracting(EvalReport.CaseReport::flaky).containsExactly(false, true, false);
      assertThat(report.summary().pass1()).isEqualTo(0.5);
      assertThat(report.summary().flaky()).containsExactly("flaky");
      assertThat(report.gate().passed()).isFalse();
      RunRecord broken = report.cases().get(2).results().get(0);
      assertThat(broken.checks()).extracting(RunRecord.CheckRecord::message)
          .anySatisfy(m -> assertThat(m).contains("expected file_bug to be called"));
      assertThat(broken.tokens()).hasValue(120);

      // The JSON report is the baseline format: reading it back gives the same counts.
      List<CaseTally> back = EvalReport.baseline(Json.read(Json.write(report.toJson())), "r.json");
      assertThat(back).containsExactly(new CaseTally("stable", 10, 10), new CaseTally("flaky", 5, 10),
          new CaseTally("broken", 0, 10));
      EvalReport same = EvalReport.build(s, agent.url(), result, Optional.of(back));
      assertThat(same.comparison().orElseThrow().meanDifference()).isZero();

      // Every renderer produces a well-formed document naming the failing case.
      assertThat(MarkdownSummary.render(report)).contains("❌ Eval gate failed").contains("| broken | 0.0% | 0/10 | **fail**");
      assertThat(HtmlReport.render(report)).contains("<svg").contains("broken").doesNotContain("<script");
      var xml = DocumentBuilderFactory.newInstance().newDocumentBuilder()
          .parse(new java.io.ByteArrayInputStream(JunitXml.render(report).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      assertThat(xml.getElementsByTagName("testcase").getLength()).isEqualTo(4);
      assertThat(xml.getElementsByTagName("failure").getLength()).isEqualTo(2);
    }
  }

  @Test
  void eachRun_isItsOwnSessionAtTheAgent() throws Exception {
    java.util.Set<String> sessions = java.util.concurrent.ConcurrentHashMap.newKeySet();
    try (TestAgent agent = new TestAgent(r -> {
      sessions.add(r.session());
      return triage(r);
    })) {
      runner(Optional.empty()).run(suite(4, "5s"), Target.url(agent.url()));
      assertThat(sessions).hasSize(12);
    }
  }

  @Test
  void slowAnswers_failByTimeout_andAreNotRetried() throws Exception {
    try (TestAgent agent = new TestAgent(r -> new TestAgent.Reply(200, "{\"answer\":\"billing\"}", 1500))) {
      Suite s = suite(1, "200ms");
      long t0 = System.nanoTime();
      EvalRunner.Result result = runner(Optional.empty()).run(s, Target.url(agent.url()));
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(1400));
      assertThat(result.cases()).allSatisfy(c -> assertThat(c.runs().get(0).outcome()).isEqualTo(RunRecord.Outcome.ERROR));
      assertThat(result.cases().get(0).runs().get(0).error()).hasValueSatisfying(e -> assertThat(e).contains("200ms"));
      assertThat(result.calls()).isEqualTo(3);
      assertThat(result.unreachable()).isFalse();
    }
  }

  @Test
  void refusedConnections_areRetried_thenReportedUnreachable() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    EvalRunner.Result result = runner(Optional.empty()).run(suite(2, "5s"), Target.url("http://127.0.0.1:" + port));
    assertThat(result.unreachable()).isTrue();
    assertThat(result.calls()).isEqualTo(12); // 3 cases × 2 runs × (1 + 1 retry)
    assertThat(result.cases().get(0).runs().get(0).error()).hasValueSatisfying(e -> assertThat(e).contains("connection refused"));
  }

  @Test
  void agentErrors_areFailures_notTransportErrors() throws Exception {
    try (TestAgent agent = new TestAgent(r -> new TestAgent.Reply(503, "{\"error\":\"overloaded\"}", 0))) {
      EvalRunner.Result result = runner(Optional.empty()).run(suite(2, "5s"), Target.url(agent.url()));
      assertThat(result.unreachable()).isFalse();
      assertThat(result.calls()).isEqualTo(6);
      assertThat(result.cases().get(0).runs()).allSatisfy(r -> {
        assertThat(r.outcome()).isEqualTo(RunRecord.Outcome.FAIL);
        assertThat(r.error()).hasValue("agent answered HTTP 503");
      });
    }
  }

  @Test
  void cache_answersReruns_butRepeatsStayDistinctCalls() throws Exception {
    try (TestAgent agent = new TestAgent(EvalRunnerIT::triage)) {
      Suite s = suite(4, "5s");
      Target t = Target.url(agent.url());
      EvalRunner.Result first;
      try (RunCache cache = RunCache.open(dir.resolve("cache"))) {
        first = runner(Optional.of(cache)).run(s, t);
      }
      assertThat(agent.requests.get()).isEqualTo(12);
      EvalRunner.Result second;
      try (RunCache cache = RunCache.open(dir.resolve("cache"))) {
        second = runner(Optional.of(cache)).run(s, t);
      }
      assertThat(agent.requests.get()).isEqualTo(12);
      assertThat(second.cached()).isEqualTo(12);
      // The flaky case's alternating answers come back per run index, not one answer for all.
      assertThat(second.cases().get(1).runs()).extracting(RunRecord::outcome)
          .containsExactlyElementsOf(first.cases().get(1).runs().stream().map(RunRecord::outcome).toList());
      assertThat(second.cases().get(1).runs()).extracting(RunRecord::outcome).contains(RunRecord.Outcome.PASS, RunRecord.Outcome.FAIL);
      // Another target is another key.
      try (RunCache cache = RunCache.open(dir.resolve("cache"))) {
        runner(Optional.of(cache)).run(s, new Target("other", java.net.URI.create(agent.url()), java.util.Map.of()));
      }
      assertThat(agent.requests.get()).isEqualTo(24);
    }
  }

  @Test
  void adaptive_stopsSettledCasesEarly_withTheSameVerdicts() throws Exception {
    try (TestAgent agent = new TestAgent(EvalRunnerIT::triage)) {
      Suite fixed = suite(50, "5s");
      EvalReport full = EvalReport.build(fixed, "a", runner(Optional.empty()).run(fixed, Target.url(agent.url())), Optional.empty());
      int before = agent.requests.get();
      Suite adaptive = fixed.withAdaptive(true);
      EvalReport quick = EvalReport.build(adaptive, "a", runner(Optional.empty()).run(adaptive, Target.url(agent.url())),
          Optional.empty());
      int used = agent.requests.get() - before;
      assertThat(quick.cases()).extracting(EvalReport.CaseReport::passed)
          .containsExactlyElementsOf(full.cases().stream().map(EvalReport.CaseReport::passed).toList());
      assertThat(used).isLessThan(150 / 2);
      assertThat(quick.calls().saved()).isEqualTo(150 - used);
      assertThat(quick.cases().get(0).stoppedEarly()).isTrue();
    }
  }

  @Test
  void judge_scoresThroughAnOpenAiCompatibleModel_andAFailingJudgeIsUnmeasured() throws Exception {
    Scenario scenario = Scenario.parse("judge.yaml", """
        models: [judge-model-2025-01-01]
        rules:
          - name: broken-judge
            when: {user: "(?i)answer:\\\\s*crash"}
            fault: {kind: status, status: 500}
          - name: good
            when: {user: "(?i)answer:\\\\s*routed to billing"}
            reply: '{"score": 0.9, "reason": "on topic"}'
        default:
          reply: '{"score": 0.1, "reason": "off topic"}'
        """);
    try (SimulatedLlm llm = SimulatedLlm.start("127.0.0.1", 0, scenario);
         TestAgent agent = new TestAgent(r -> TestAgent.Reply.json(r.ticket().contains("charged")
             ? "{\"answer\":\"Routed to billing\"}" : r.ticket().contains("crash") ? "{\"answer\":\"crash\"}"
             : "{\"answer\":\"I like trains\"}"))) {
      Path p = dir.resolve("judge.yaml");
      Files.writeString(p, """
          apiVersion: flightdeck.dev/v1alpha1
          kind: EvalSuite
          metadata: {name: judged}
          spec:
            runs: 2
            retries: 0
            request: {body: {ticket: "${ticket}"}}
            judge: {baseUrl: "%s", model: judge-model-2025-01-01, retries: 1}
            assert: [{type: judge, rubric: relevance, minScore: 0.5}]
            cases:
              - {name: good, vars: {ticket: charged twice}}
              - {name: bad, vars: {ticket: where is my order}}
              - {name: judge-down, vars: {ticket: app crash}}
          """.formatted(llm.baseUrl()));
      Suite s = SuiteCompiler.standard().load(p, Optional.empty());
      Judge judge = new Judge(s.judge().orElseThrow(), EvalRunner.defaultClient(Duration.ofSeconds(2)), Judge.Cache.inMemory());
      EvalRunner r = new EvalRunner(new AssertionContext((a, b) -> 0, Optional.of(judge)), Optional.empty(), Progress.NONE);
      runners.add(r);
      EvalReport report = EvalReport.build(s, "a", r.run(s, Target.url(agent.url())), Optional.empty());
      assertThat(report.cases()).extracting(EvalReport.CaseReport::passRate).containsExactly(1.0, 0.0, 0.0);
      EvalReport.CaseReport down = report.cases().get(2);
      assertThat(down.unmeasured()).isEqualTo(2);
      assertThat(down.runs()).isZero();
      assertThat(down.results().get(0).checks().get(0).message()).contains("HTTP 500").contains("unmeasured");
      // Two runs of the same answer: the second verdict came from the judge cache, one model call per answer.
      assertThat(llm.hits("good")).isEqualTo(1);
      assertThat(llm.hits("broken-judge")).isEqualTo(4); // 2 runs × (1 + 1 retry), failures are not cached
    }
  }
}
