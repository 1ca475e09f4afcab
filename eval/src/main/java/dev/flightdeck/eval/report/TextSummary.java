package dev.flightdeck.eval.report;

import dev.flightdeck.eval.stats.Summary;
import java.util.Comparator;
import java.util.List;

/** The summary printed at the end of {@code flightdeck eval run}. */
public final class TextSummary {

  private TextSummary() {}

  /** The summary as lines of text. */
  public static String render(EvalReport r) {
    StringBuilder sb = new StringBuilder();
    Summary s = r.summary();
    sb.append("suite ").append(r.suite()).append(" against ").append(r.target()).append(": ")
        .append(r.cases().size()).append(" cases, ").append(r.calls().runs()).append(" runs in ")
        .append(Fmt.seconds(r.tookMs())).append('\n');
    sb.append("pass@1 ").append(Fmt.p(s.pass1())).append("  95% CI ").append(Fmt.p(s.clusteredCi().low())).append('–')
        .append(Fmt.p(s.clusteredCi().high())).append(" (clustered SE ").append(Fmt.p(s.clusteredSe()))
        .append("; Wilson ").append(Fmt.p(s.wilson().low())).append('–').append(Fmt.p(s.wilson().high())).append(")  ")
        .append(Fmt.passHat(r)).append('\n');
    if (r.settings().adaptive()) {
      sb.append("adaptive: ").append(r.calls().runs()).append(" of ").append(r.calls().planned())
          .append(" planned runs, ").append(r.calls().saved()).append(" saved (")
          .append(Fmt.pct(r.calls().planned() == 0 ? 0 : (double) r.calls().saved() / r.calls().planned())).append(")\n");
    }
    if (r.calls().cached() > 0) {
      sb.append("cache: ").append(r.calls().cached()).append(" run(s) answered from the cache\n");
    }
    List<EvalReport.CaseReport> worst = r.cases().stream().filter(c -> !c.passed() || c.flaky())
        .sorted(Comparator.comparingDouble(EvalReport.CaseReport::passRate)).limit(10).toList();
    for (EvalReport.CaseReport c : worst) {
      sb.append(c.passed() ? "  flaky  " : "  FAIL   ").append(c.name()).append("  ").append(c.passes()).append('/')
          .append(c.runs());
      firstFailure(c).ifPresent(m -> sb.append("  ").append(m));
      sb.append('\n');
    }
    r.comparison().ifPresent(c -> sb.append("baseline: ").append(c.pairedCases()).append(" paired cases, difference ")
        .append(Fmt.signed(c.meanDifference())).append(" (").append(Math.round(100 * (1 - c.alpha())))
        .append("% lower bound ").append(Fmt.signed(c.lowerBound())).append(", margin ").append(Fmt.p(c.margin()))
        .append(")\n"));
    for (EvalReport.GateCheck g : r.gate().checks()) {
      sb.append(g.passed() ? "  ok     " : "  failed ").append(g.name()).append(": ").append(g.detail()).append('\n');
    }
    sb.append(r.gate().passed() ? "GATE PASSED" : "GATE FAILED").append('\n');
    return sb.toString();
  }

  /** The first failing assertion's message in a case, for a one-line hint. */
  static java.util.Optional<String> firstFailure(EvalReport.CaseReport c) {
    for (RunRecord run : c.results()) {
      if (run.error().isPresent()) {
        return run.error();
      }
      for (RunRecord.CheckRecord k : run.checks()) {
        if (k.status() == dev.flightdeck.eval.assertion.Check.Status.FAIL) {
          return java.util.Optional.of(k.assertion() + ": " + k.message());
        }
      }
    }
    return java.util.Optional.empty();
  }
}
