package dev.flightdeck.eval.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.eval.run.EvalRunner;
import dev.flightdeck.eval.stats.CaseTally;
import dev.flightdeck.eval.stats.Comparison;
import dev.flightdeck.eval.stats.Interval;
import dev.flightdeck.eval.stats.Paired;
import dev.flightdeck.eval.stats.Proportions;
import dev.flightdeck.eval.stats.SuiteStatistics;
import dev.flightdeck.eval.stats.Summary;
import dev.flightdeck.eval.suite.Suite;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The result of a suite run: per-case results, the suite's statistics, the comparison with a
 * baseline and the gate's verdict. Its JSON form ({@link #toJson()}) is both the report users
 * keep and the baseline the next run compares against.
 */
public record EvalReport(String suite, String target, Instant startedAt, long tookMs, Settings settings,
    List<CaseReport> cases, Summary summary, Optional<Comparison> comparison, Gate gate, Calls calls,
    boolean unreachable) {

  /** The report format's identifier, checked when a baseline is read. */
  public static final String FORMAT = "flightdeck.dev/eval-report/v1";
  /** Confidence of every interval in the report. */
  public static final double CONFIDENCE = 0.95;

  /** What the run was asked to do. */
  public record Settings(int runs, int concurrency, boolean adaptive, double adaptiveAlpha, OptionalDouble threshold,
      double caseThreshold, double margin, double gateAlpha, Optional<String> judgeModel) {}

  /** Calls to the agent: planned by the fixed-N plan, runs made, HTTP calls made (retries included), answered from the cache, saved by adaptive stopping. */
  public record Calls(long planned, long runs, long calls, long cached, long saved) {}

  /** One gate check and its evidence. */
  public record GateCheck(String name, boolean passed, String detail) {}

  /** The gate's verdict: passed when every check passed. */
  public record Gate(boolean passed, List<GateCheck> checks) {}

  /** One case: counts, pass rate with its interval, verdict, and every run. */
  public record CaseReport(String name, int runs, int passes, int unmeasured, int errors, double passRate,
      Interval interval, boolean passed, boolean flaky, boolean stoppedEarly, List<RunRecord> results) {

    /** The case as the statistics see it. */
    public CaseTally tally() {
      return new CaseTally(name, passes, runs);
    }
  }

  /** Builds the report from a finished run, comparing with a baseline when one is given. */
  public static EvalReport build(Suite suite, String target, EvalRunner.Result result, Optional<List<CaseTally>> baseline) {
    List<CaseReport> cases = new ArrayList<>();
    long runs = 0;
    for (EvalRunner.CaseRun cr : result.cases()) {
      int passes = 0;
      int measured = 0;
      int unmeasured = 0;
      int errors = 0;
      for (RunRecord r : cr.runs()) {
        runs++;
        switch (r.outcome()) {
          case PASS -> { passes++; measured++; }
          case FAIL -> measured++;
          case ERROR -> { errors++; measured++; }
          case UNMEASURED -> unmeasured++;
        }
      }
      double rate = measured == 0 ? 0 : (double) passes / measured;
      boolean passed = measured > 0 && rate >= suite.caseThreshold() - 1e-12;
      cases.add(new CaseReport(cr.evalCase().name(), measured, passes, unmeasured, errors, rate,
          Proportions.wilson(passes, measured, CONFIDENCE), passed, passes > 0 && passes < measured,
          cr.stoppedEarly(), cr.runs()));
    }
    List<CaseTally> tallies = cases.stream().filter(c -> c.runs() > 0).map(CaseReport::tally).toList();
    Summary summary = SuiteStatistics.summarize(tallies, CONFIDENCE);
    Optional<Comparison> comparison = baseline.map(b -> Paired.compare(b, tallies, suite.gate().margin(),
        suite.gate().alpha()));
    Gate gate = gate(suite, summary, comparison, cases);
    Settings settings = new Settings(suite.runs(), suite.concurrency(), suite.adaptive().enabled(),
        suite.adaptive().alpha(), suite.threshold(), suite.caseThreshold(), suite.gate().margin(), suite.gate().alpha(),
        suite.judge().map(Suite.JudgeSpec::model));
    Calls calls = new Calls(result.planned(), runs, result.calls(), result.cached(), Math.max(0, result.planned() - runs));
    return new EvalReport(suite.name(), target, result.startedAt(), result.took().toMillis(), settings, cases, summary,
        comparison, gate, calls, result.unreachable());
  }

  private static Gate gate(Suite suite, Summary s, Optional<Comparison> comparison, List<CaseReport> cases) {
    List<GateCheck> checks = new ArrayList<>();
    if (s.runs() == 0) {
      checks.add(new GateCheck("measured", false, "no run could be measured"));
      return new Gate(false, checks);
    }
    suite.threshold().ifPresent(t -> checks.add(new GateCheck("threshold", s.pass1() >= t - 1e-12, String.format(
        Locale.ROOT, "pass@1 %.3f %s threshold %.3f (95%% CI %.3f–%.3f, clustered by case)", s.pass1(),
        s.pass1() >= t - 1e-12 ? "≥" : "<", t, s.clusteredCi().low(), s.clusteredCi().high()))));
    comparison.ifPresent(c -> checks.add(new GateCheck("baseline", c.notWorse(), String.format(Locale.ROOT,
        "mean difference %+.3f over %d paired cases, %.0f%% lower bound %+.3f %s -%.3f (margin)",
        c.meanDifference(), c.pairedCases(), 100 * (1 - c.alpha()), c.lowerBound(), c.notWorse() ? ">" : "≤",
        c.margin()))));
    if (checks.isEmpty()) {
      long failing = cases.stream().filter(c -> !c.passed()).count();
      checks.add(new GateCheck("cases", failing == 0, failing == 0 ? "every case passes in at least "
          + pct(suite.caseThreshold()) + " of its runs" : failing + " case(s) pass in fewer than "
          + pct(suite.caseThreshold()) + " of their runs (set spec.threshold or --baseline for a statistical gate)"));
    }
    return new Gate(checks.stream().allMatch(GateCheck::passed), checks);
  }

  private static String pct(double d) {
    return String.format(Locale.ROOT, "%.0f%%", 100 * d);
  }

  /** The report as JSON (the baseline format). */
  public ObjectNode toJson() {
    ObjectNode o = Json.object();
    o.put("format", FORMAT);
    o.put("suite", suite);
    o.put("target", target);
    o.put("startedAt", startedAt.toString());
    o.put("tookMs", tookMs);
    o.put("unreachable", unreachable);
    ObjectNode st = o.putObject("settings");
    st.put("runs", settings.runs()).put("concurrency", settings.concurrency()).put("adaptive", settings.adaptive())
        .put("adaptiveAlpha", settings.adaptiveAlpha()).put("caseThreshold", settings.caseThreshold())
        .put("margin", settings.margin()).put("gateAlpha", settings.gateAlpha());
    settings.threshold().ifPresent(t -> st.put("threshold", t));
    settings.judgeModel().ifPresent(m -> st.put("judgeModel", m));
    o.set("calls", Json.mapper().valueToTree(Map.of("planned", calls.planned(), "runs", calls.runs(),
        "calls", calls.calls(), "cached", calls.cached(), "saved", calls.saved())));
    o.set("summary", summaryJson(summary));
    comparison.ifPresent(c -> o.set("comparison", comparisonJson(c)));
    ObjectNode g = o.putObject("gate");
    g.put("passed", gate.passed());
    ArrayNode gc = g.putArray("checks");
    gate.checks().forEach(c -> gc.addObject().put("name", c.name()).put("passed", c.passed()).put("detail", c.detail()));
    ArrayNode cs = o.putArray("cases");
    for (CaseReport c : cases) {
      ObjectNode n = cs.addObject();
      n.put("name", c.name()).put("runs", c.runs()).put("passes", c.passes()).put("unmeasured", c.unmeasured())
          .put("errors", c.errors()).put("passRate", c.passRate()).put("passed", c.passed()).put("flaky", c.flaky())
          .put("stoppedEarly", c.stoppedEarly());
      n.set("interval", interval(c.interval()));
      ArrayNode rs = n.putArray("results");
      c.results().forEach(r -> rs.add(r.toJson()));
    }
    return o;
  }

  private static ObjectNode interval(Interval i) {
    return Json.object().put("low", i.low()).put("high", i.high());
  }

  private static ObjectNode summaryJson(Summary s) {
    ObjectNode o = Json.object();
    o.put("cases", s.cases()).put("runs", s.runs()).put("passes", s.passes()).put("pass1", s.pass1());
    o.set("wilson", interval(s.wilson()));
    o.put("clusteredSe", s.clusteredSe()).put("naiveSe", s.naiveSe());
    o.set("clusteredCi", interval(s.clusteredCi()));
    ObjectNode hat = o.putObject("passHatK");
    s.passHatK().forEach((k, v) -> hat.put(String.valueOf(k), v));
    ObjectNode at = o.putObject("passAtK");
    s.passAtK().forEach((k, v) -> at.put(String.valueOf(k), v));
    ArrayNode f = o.putArray("flaky");
    s.flaky().forEach(f::add);
    return o;
  }

  private static ObjectNode comparisonJson(Comparison c) {
    ObjectNode o = Json.object();
    o.put("pairedCases", c.pairedCases()).put("meanDifference", c.meanDifference())
        .put("standardError", c.standardError()).put("lowerBound", c.lowerBound()).put("margin", c.margin())
        .put("alpha", c.alpha()).put("notWorse", c.notWorse()).put("method", c.method());
    o.set("interval", interval(c.interval()));
    ArrayNode ob = o.putArray("onlyInBaseline");
    c.onlyInBaseline().forEach(ob::add);
    ArrayNode oc = o.putArray("onlyInCandidate");
    c.onlyInCandidate().forEach(oc::add);
    ArrayNode pc = o.putArray("perCase");
    c.perCase().forEach(d -> pc.addObject().put("name", d.name()).put("baseline", d.baseline())
        .put("candidate", d.candidate()).put("difference", d.difference()));
    return o;
  }

  /**
   * The per-case counts of a baseline report. @throws IllegalArgumentException saying which
   * field is wrong when the JSON is not a report of this format
   */
  public static List<CaseTally> baseline(JsonNode report, String source) {
    if (!FORMAT.equals(report.path("format").asText())) {
      throw new IllegalArgumentException(source + ": format: expected \"" + FORMAT + "\" (a report written by "
          + "flightdeck eval run -o json:FILE), got " + Json.write(report.path("format")));
    }
    JsonNode cases = report.path("cases");
    if (!cases.isArray()) {
      throw new IllegalArgumentException(source + ": cases: expected a list of cases");
    }
    List<CaseTally> out = new ArrayList<>();
    for (int i = 0; i < cases.size(); i++) {
      JsonNode c = cases.get(i);
      JsonNode name = c.path("name");
      JsonNode runs = c.path("runs");
      JsonNode passes = c.path("passes");
      if (!name.isTextual() || !runs.canConvertToInt() || !passes.canConvertToInt() || !runs.isIntegralNumber()
          || !passes.isIntegralNumber() || passes.asInt() < 0 || passes.asInt() > runs.asInt()) {
        throw new IllegalArgumentException(source + ": cases[" + i + "]: expected name, runs and passes "
            + "(0 <= passes <= runs)");
      }
      if (runs.asInt() > 0) {
        out.add(new CaseTally(name.asText(), passes.asInt(), runs.asInt()));
      }
    }
    return out;
  }
}
