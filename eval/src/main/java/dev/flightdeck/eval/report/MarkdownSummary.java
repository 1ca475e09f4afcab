package dev.flightdeck.eval.report;

import dev.flightdeck.eval.stats.CaseDifference;
import dev.flightdeck.eval.stats.Summary;
import java.util.HashMap;
import java.util.Map;

/** A Markdown summary for pull-request comments: verdict, statistics, gate checks, cases. */
public final class MarkdownSummary {

  private MarkdownSummary() {}

  /** The summary as GitHub-flavoured Markdown. */
  public static String render(EvalReport r) {
    Summary s = r.summary();
    StringBuilder sb = new StringBuilder();
    sb.append("### ").append(r.gate().passed() ? "✅ Eval gate passed" : "❌ Eval gate failed").append(": `")
        .append(md(r.suite())).append("` against `").append(md(r.target())).append("`\n\n");
    sb.append("pass@1 **").append(Fmt.p(s.pass1())).append("** (95% CI ").append(Fmt.p(s.clusteredCi().low()))
        .append("–").append(Fmt.p(s.clusteredCi().high())).append(", clustered by case) · ")
        .append(s.cases()).append(" cases, ").append(s.runs()).append(" runs · ").append(Fmt.passHat(r))
        .append(" · ").append(s.flaky().size()).append(" flaky");
    if (r.settings().adaptive()) {
      sb.append(" · adaptive saved ").append(r.calls().saved()).append(" of ").append(r.calls().planned()).append(" runs");
    }
    sb.append("\n\n| Check | Result | Evidence |\n|---|---|---|\n");
    for (EvalReport.GateCheck g : r.gate().checks()) {
      sb.append("| ").append(g.name()).append(" | ").append(g.passed() ? "✅" : "❌").append(" | ")
          .append(md(g.detail())).append(" |\n");
    }
    Map<String, CaseDifference> diff = new HashMap<>();
    r.comparison().ifPresent(c -> c.perCase().forEach(d -> diff.put(d.name(), d)));
    sb.append("\n<details><summary>Cases</summary>\n\n| Case | Pass rate | Runs | Verdict |")
        .append(diff.isEmpty() ? "" : " Δ baseline |").append("\n|---|---:|---:|---|").append(diff.isEmpty() ? "" : "---:|")
        .append('\n');
    for (EvalReport.CaseReport c : r.cases()) {
      sb.append("| ").append(md(c.name())).append(" | ").append(Fmt.pct(c.passRate())).append(" | ").append(c.passes())
          .append('/').append(c.runs()).append(" | ").append(c.passed() ? (c.flaky() ? "flaky" : "pass") : "**fail**");
      if (!diff.isEmpty()) {
        CaseDifference d = diff.get(c.name());
        sb.append(" | ").append(d == null ? "new" : Fmt.signed(d.difference()));
      }
      sb.append(" |\n");
    }
    sb.append("\n</details>\n");
    return sb.toString();
  }

  private static String md(String s) {
    return s.replace("|", "\\|").replace("\n", " ").replace("`", "'").replace("<", "&lt;");
  }
}
