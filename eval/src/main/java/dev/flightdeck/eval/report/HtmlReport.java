package dev.flightdeck.eval.report;

import dev.flightdeck.eval.stats.CaseDifference;
import dev.flightdeck.eval.stats.Comparison;
import dev.flightdeck.eval.stats.Summary;
import java.util.List;
import java.util.Locale;

/**
 * A self-contained HTML report (no scripts, no external files): the verdict, the suite's pass@1
 * with its interval, every case's pass rate with its Wilson interval as an SVG chart, the
 * differences against the baseline, and a table of cases whose rows open to show each run.
 */
public final class HtmlReport {

  private HtmlReport() {}

  private static final String CSS = """
      body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2330;padding:0 1rem}
      h1{font-size:1.4rem;margin:0 0 .2rem} h2{font-size:1.1rem;margin:2rem 0 .6rem}
      .verdict{display:inline-block;padding:.2rem .7rem;border-radius:4px;font-weight:600;color:#fff}
      .pass{background:#1a7f37}.fail{background:#cf222e}.muted{color:#57606a}
      table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top}
      td.n{text-align:right;font-variant-numeric:tabular-nums} tr.bad td:first-child{border-left:3px solid #cf222e}
      details summary{cursor:pointer} code,pre{font:12px ui-monospace,monospace} pre{white-space:pre-wrap;margin:.2rem 0;background:#f6f8fa;padding:.4rem}
      .k{display:inline-block;margin-right:1.5rem}.k b{font-size:1.3rem;display:block}
      svg text{font:11px system-ui,sans-serif;fill:#1d2330}
      """;

  /** The report as one HTML document. */
  public static String render(EvalReport r) {
    Summary s = r.summary();
    StringBuilder h = new StringBuilder(16_384);
    h.append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(r.suite()))
        .append(" — Flightdeck eval</title><style>").append(CSS).append("</style></head><body>");
    h.append("<h1>").append(esc(r.suite())).append(" <span class=\"verdict ").append(r.gate().passed() ? "pass\">passed" : "fail\">failed")
        .append("</span></h1><div class=\"muted\">against <code>").append(esc(r.target())).append("</code> · started ")
        .append(esc(r.startedAt().toString())).append(" · ").append(Fmt.seconds(r.tookMs())).append("</div>");
    h.append("<h2>Summary</h2><div>");
    kpi(h, "pass@1", Fmt.p(s.pass1()), "95% CI " + Fmt.p(s.clusteredCi().low()) + "–" + Fmt.p(s.clusteredCi().high()));
    kpi(h, "cases × runs", s.cases() + " × " + r.settings().runs(), s.runs() + " measured runs");
    if (!s.passHatK().isEmpty()) {
      int k = s.passHatK().lastKey();
      kpi(h, "pass^" + k, Fmt.p(s.passHatK().get(k)), "all " + k + " runs pass");
    }
    kpi(h, "flaky cases", String.valueOf(s.flaky().size()), "pass sometimes");
    if (r.settings().adaptive()) {
      kpi(h, "runs saved", String.valueOf(r.calls().saved()), "of " + r.calls().planned() + " planned");
    }
    h.append("</div><h2>Gate</h2><table><tr><th>Check</th><th>Result</th><th>Evidence</th></tr>");
    for (EvalReport.GateCheck g : r.gate().checks()) {
      h.append("<tr><td>").append(esc(g.name())).append("</td><td>").append(g.passed() ? "✅ passed" : "❌ failed")
          .append("</td><td>").append(esc(g.detail())).append("</td></tr>");
    }
    h.append("</table><h2>Pass rate by case (95% Wilson intervals)</h2>");
    h.append(rateChart(r));
    r.comparison().ifPresent(c -> h.append("<h2>Against the baseline</h2><p>").append(esc(c.method())).append("</p>")
        .append(diffChart(c)));
    h.append("<h2>Cases</h2><table><tr><th>Case</th><th>Pass rate</th><th>Runs</th><th>Verdict</th></tr>");
    for (EvalReport.CaseReport c : r.cases()) {
      h.append("<tr").append(c.passed() ? "" : " class=\"bad\"").append("><td><details><summary>").append(esc(c.name()))
          .append("</summary>");
      for (RunRecord run : c.results()) {
        h.append("<div><b>run ").append(run.index()).append("</b> ").append(run.outcome().name().toLowerCase(Locale.ROOT))
            .append(" · ").append(run.latencyMs()).append(" ms");
        run.tokens().ifPresent(t -> h.append(" · ").append(t).append(" tokens"));
        run.error().ifPresent(e -> h.append(" · ").append(esc(e)));
        h.append("<pre>").append(esc(run.answer())).append("</pre><ul>");
        for (RunRecord.CheckRecord k : run.checks()) {
          h.append("<li>").append(k.status() == dev.flightdeck.eval.assertion.Check.Status.PASS ? "✅ "
              : k.status() == dev.flightdeck.eval.assertion.Check.Status.FAIL ? "❌ " : "⚪ ")
              .append("<code>").append(esc(k.assertion())).append("</code> ").append(esc(k.message())).append("</li>");
        }
        h.append("</ul></div>");
      }
      h.append("</details></td><td class=\"n\">").append(Fmt.pct(c.passRate())).append("</td><td class=\"n\">")
          .append(c.passes()).append('/').append(c.runs()).append("</td><td>")
          .append(c.passed() ? (c.flaky() ? "flaky" : "pass") : "<b>fail</b>").append("</td></tr>");
    }
    h.append("</table><p class=\"muted\">Generated by Flightdeck. Intervals: Wilson per case; pass@1 with a "
        + "cluster-robust standard error (Miller 2024). See docs/eval-statistics.md.</p></body></html>\n");
    return h.toString();
  }

  private static void kpi(StringBuilder h, String label, String value, String note) {
    h.append("<span class=\"k\"><b>").append(esc(value)).append("</b>").append(esc(label))
        .append(" <span class=\"muted\">").append(esc(note)).append("</span></span>");
  }

  private static String rateChart(EvalReport r) {
    List<EvalReport.CaseReport> cases = r.cases().size() > 200 ? r.cases().subList(0, 200) : r.cases();
    int row = 18;
    int left = 220;
    int width = 560;
    int height = cases.size() * row + 30;
    StringBuilder s = new StringBuilder();
    s.append("<svg role=\"img\" aria-label=\"pass rate by case\" width=\"").append(left + width + 60).append("\" height=\"")
        .append(height).append("\">");
    for (int t = 0; t <= 4; t++) {
      double x = left + width * t / 4.0;
      s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>", x, x, height - 20))
          .append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d%%</text>", x, height - 6, t * 25));
    }
    double th = r.settings().caseThreshold();
    s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>",
        left + width * th, left + width * th, height - 20));
    for (int i = 0; i < cases.size(); i++) {
      EvalReport.CaseReport c = cases.get(i);
      int y = i * row + 4;
      String color = c.passed() ? (c.flaky() ? "#bf8700" : "#1a7f37") : "#cf222e";
      s.append("<text x=\"").append(left - 6).append("\" y=\"").append(y + 11).append("\" text-anchor=\"end\">")
          .append(esc(c.name().length() > 34 ? c.name().substring(0, 33) + "…" : c.name())).append("</text>");
      s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"10\" fill=\"%s\" opacity=\".75\"/>",
          left, y + 2, width * c.passRate(), color));
      s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#1d2330\"/>",
          left + width * c.interval().low(), y + 7, left + width * c.interval().high(), y + 7));
    }
    return s.append("</svg>").toString();
  }

  private static String diffChart(Comparison c) {
    List<CaseDifference> d = c.perCase().size() > 200 ? c.perCase().subList(0, 200) : c.perCase();
    int row = 18;
    int left = 220;
    int width = 560;
    int mid = left + width / 2;
    int height = (d.size() + 1) * row + 30;
    StringBuilder s = new StringBuilder();
    s.append("<svg role=\"img\" aria-label=\"difference against the baseline\" width=\"").append(left + width + 60)
        .append("\" height=\"").append(height).append("\">");
    s.append("<line x1=\"").append(mid).append("\" y1=\"0\" x2=\"").append(mid).append("\" y2=\"").append(height - 20)
        .append("\" stroke=\"#999\"/>");
    s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">−100%%</text><text x=\"%d\" y=\"%d\" "
        + "text-anchor=\"middle\">0</text><text x=\"%d\" y=\"%d\" text-anchor=\"middle\">+100%%</text>",
        left, height - 6, mid, height - 6, left + width, height - 6));
    double margin = -c.margin();
    s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" stroke=\"#cf222e\" stroke-dasharray=\"4 3\"/>",
        mid + margin * width / 2, mid + margin * width / 2, height - 20));
    int y0 = 4;
    s.append("<text x=\"").append(left - 6).append("\" y=\"").append(y0 + 11).append("\" text-anchor=\"end\"><tspan font-weight=\"600\">mean</tspan></text>");
    s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#1d2330\" stroke-width=\"2\"/>"
        + "<circle cx=\"%.1f\" cy=\"%d\" r=\"4\" fill=\"#1d2330\"/>",
        mid + clamp(c.interval().low()) * width / 2, y0 + 7, mid + clamp(c.interval().high()) * width / 2, y0 + 7,
        mid + clamp(c.meanDifference()) * width / 2, y0 + 7));
    for (int i = 0; i < d.size(); i++) {
      CaseDifference x = d.get(i);
      int y = (i + 1) * row + 4;
      double w = x.difference() * width / 2;
      s.append("<text x=\"").append(left - 6).append("\" y=\"").append(y + 11).append("\" text-anchor=\"end\">")
          .append(esc(x.name().length() > 34 ? x.name().substring(0, 33) + "…" : x.name())).append("</text>");
      s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"10\" fill=\"%s\" opacity=\".75\"/>",
          w < 0 ? mid + w : mid, y + 2, Math.abs(w), w < 0 ? "#cf222e" : "#1a7f37"));
    }
    return s.append("</svg>").toString();
  }

  private static double clamp(double d) {
    return Math.max(-1, Math.min(1, d));
  }

  static String esc(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '&' -> sb.append("&amp;");
        case '"' -> sb.append("&quot;");
        case '\'' -> sb.append("&#39;");
        default -> sb.append(c);
      }
    }
    return sb.toString();
  }
}
