package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.MathContext;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The text views of a rollout: its status and its decision log, from the API's JSON. Pure: the
 * clock and the character set are given, so every view is tested without a server. Fields the
 * API may leave out or set to null (analysis, draining, bounds, the stable arm) leave out their
 * line or cell rather than print "null".
 */
final class RolloutView {

  private static final int BAR = 20;
  private static final String INDENT = " ".repeat(11);

  /** What replaces each symbol when the output is not UTF-8; anything else non-ASCII becomes '?'. */
  private static final Map<Character, String> ASCII = Map.ofEntries(
      Map.entry('✓', "+"), Map.entry('▶', ">"), Map.entry('·', "-"), Map.entry('✗', "x"),
      Map.entry('█', "#"), Map.entry('░', "."), Map.entry('→', "->"), Map.entry('α', "alpha"),
      Map.entry('≤', "<="), Map.entry('≥', ">="), Map.entry('×', "x"), Map.entry('±', "+/-"),
      Map.entry('–', "-"), Map.entry('—', "-"), Map.entry('…', "..."));

  private final boolean unicode;
  private final Optional<Instant> now;

  private RolloutView(boolean unicode, Optional<Instant> now) {
    this.unicode = unicode;
    this.now = now;
  }

  /** A view with absolute times only, in Unicode or in plain ASCII. */
  static RolloutView of(boolean unicode) {
    return new RolloutView(unicode, Optional.empty());
  }

  /** This view with times also shown relative to {@code now} ("30s ago", "in 9m"). */
  RolloutView at(Instant now) {
    return new RolloutView(unicode, Optional.of(now));
  }

  /** The status view: header, weights, steps, the current analysis, draining versions, message. */
  String status(JsonNode s) {
    List<String> lines = new ArrayList<>();
    lines.add("rollout/" + s.path("name").asText() + "   " + s.path("phase").asText("Unknown")
        + (has(s, "attempt") ? "   attempt " + s.path("attempt").asText() : ""));
    lines.add(label("Agent:") + s.path("agent").asText("-") + ": " + s.path("stable").asText("-") + " (stable) → "
        + s.path("candidate").asText("-") + " (candidate)" + (has(s, "strategy") ? ", " + s.path("strategy").asText() : ""));
    weights(s, lines);
    steps(s, lines);
    if (has(s, "analysis")) {
      JsonNode a = s.path("analysis");
      lines.add(label("Analysis:") + a.path("verdict").asText("-") + detail(a));
      metrics(a.path("metrics")).forEach(l -> lines.add(INDENT + l));
    }
    List<String> draining = new ArrayList<>();
    for (JsonNode d : s.path("draining")) {
      int n = d.path("sessions").asInt();
      draining.add(d.path("version").asText() + "  " + n + (n == 1 ? " session" : " sessions")
          + (has(d, "deadline") ? ", deadline " + until(d.path("deadline").asText()) : ""));
    }
    for (int i = 0; i < draining.size(); i++) {
      lines.add((i == 0 ? label("Draining:") : INDENT) + draining.get(i));
    }
    if (!s.path("message").asText("").isBlank()) {
      lines.add(label("Message:") + s.path("message").asText());
    }
    if (has(s, "updatedAt") || has(s, "revision")) {
      lines.add(label("Updated:") + (has(s, "updatedAt") ? stamp(s.path("updatedAt").asText()) : "-")
          + (has(s, "revision") ? ", revision " + s.path("revision").asText() : ""));
    }
    return text(lines);
  }

  /** The decision log, oldest first: one line per decision, its evidence as indented metric lines. */
  String decisions(JsonNode items) {
    List<String> lines = new ArrayList<>();
    lines.add("Decisions (" + items.size() + "):");
    if (items.isEmpty()) {
      lines.add("  none yet");
      return text(lines);
    }
    List<List<String>> rows = new ArrayList<>();
    for (JsonNode d : items) {
      rows.add(cells(d.path("at").asText("-"), d.path("actor").asText("-"), d.path("action").asText("-"),
          has(d, "step") ? Integer.toString(d.path("step").asInt() + 1) : "-", d.path("phase").asText("-"),
          d.path("reason").asText("")));
    }
    List<String> table = Output.tableLines(List.of("TIME", "ACTOR", "ACTION", "STEP", "PHASE", "REASON"), rows);
    lines.add("  " + table.get(0));
    for (int i = 0; i < items.size(); i++) {
      lines.add("  " + table.get(i + 1));
      JsonNode e = items.get(i).path("evidence");
      if (has(e, "metrics") && !e.path("metrics").isEmpty()) {
        // Evidence is history: its times stay absolute.
        lines.add("      evidence: " + e.path("verdict").asText("-") + RolloutView.of(unicode).detail(e));
        evidence(e.path("metrics")).forEach(l -> lines.add("        " + l));
      }
    }
    return text(lines);
  }

  /** The one line a verb prints: {@code rollout/NAME promoted (phase Progressing, step 3/6)}. */
  static String verbLine(String name, String done, JsonNode s) {
    JsonNode step = s.path("step");
    return "rollout/" + s.path("name").asText(name) + " " + done + " (phase " + s.path("phase").asText("Unknown")
        + (has(step, "index") ? ", step " + (step.path("index").asInt() + 1) + "/" + step.path("count").asText("?") : "")
        + ")";
  }

  private void weights(JsonNode s, List<String> lines) {
    JsonNode w = s.path("weights");
    if (!w.isObject() || w.isEmpty()) {
      return;
    }
    Set<String> order = new LinkedHashSet<>();
    for (String v : List.of(s.path("stable").asText(""), s.path("candidate").asText(""))) {
      if (w.has(v)) {
        order.add(v);
      }
    }
    w.fieldNames().forEachRemaining(order::add);
    int width = order.stream().mapToInt(String::length).max().orElse(0);
    boolean first = true;
    for (String v : order) {
      int pct = Math.max(0, Math.min(100, w.path(v).asInt()));
      int filled = (pct * BAR + 50) / 100;
      lines.add((first ? label("Weights:") : INDENT) + String.format(Locale.ROOT, "%-" + width + "s  %3d%%  ", v, pct)
          + "█".repeat(filled) + "░".repeat(BAR - filled));
      first = false;
    }
  }

  private void steps(JsonNode s, List<String> lines) {
    JsonNode step = s.path("step");
    boolean allDone = has(step, "index") && has(step, "count") && step.path("index").asInt() >= step.path("count").asInt();
    String where = allDone ? "all " + step.path("count").asInt() + " steps done"
        : has(step, "index")
        ? "step " + (step.path("index").asInt() + 1) + " of " + step.path("count").asText("?")
            + (has(step, "startedAt") ? ", started " + time(step.path("startedAt").asText()) : "")
        : "";
    if (!where.isEmpty() || !s.path("steps").isEmpty()) {
      lines.add(label("Steps:") + (where.isEmpty() ? s.path("steps").size() + " steps" : where));
    }
    for (JsonNode st : s.path("steps")) {
      String state = st.path("state").asText("");
      String marker = switch (state) {
        case "done" -> "✓";
        case "current" -> "▶";
        case "pending" -> "·";
        case "failed" -> "✗";
        default -> "?";
      };
      String summary = st.path("summary").asText(st.path("type").asText("-"));
      lines.add(INDENT + marker + " " + (st.path("index").asInt() + 1) + "  " + summary
          + (List.of("done", "current", "pending", "failed").contains(state) || state.isEmpty() ? "" : "  (" + state + ")"));
    }
  }

  /** The parenthesis after a verdict: mode, alpha, since, deadline. */
  private String detail(JsonNode a) {
    List<String> parts = new ArrayList<>();
    if (has(a, "mode")) {
      parts.add(a.path("mode").asText());
    }
    if (has(a, "alpha")) {
      parts.add("α " + number(a.path("alpha")));
    }
    if (has(a, "since")) {
      parts.add("since " + time(a.path("since").asText()));
    }
    if (has(a, "deadline")) {
      parts.add("deadline " + until(a.path("deadline").asText()));
    }
    return parts.isEmpty() ? "" : " (" + String.join(", ", parts) + ")";
  }

  /** The current analysis as a table: one row per metric. */
  private List<String> metrics(JsonNode metrics) {
    if (!metrics.isArray() || metrics.isEmpty()) {
      return List.of();
    }
    List<List<String>> rows = new ArrayList<>();
    for (JsonNode m : metrics) {
      rows.add(cells(m.path("metric").asText("-"), m.path("limit").asText("-"), arm(m.path("canary")),
          arm(m.path("stable")), bound(m.path("bound")), m.path("verdict").asText("-"), m.path("reason").asText("")));
    }
    return Output.tableLines(List.of("METRIC", "LIMIT", "CANARY", "STABLE", "BOUND", "VERDICT", "REASON"), rows);
  }

  /** A decision's evidence: one aligned line per metric, each cell saying what it is. */
  List<String> evidence(JsonNode metrics) {
    List<List<String>> rows = new ArrayList<>();
    for (JsonNode m : metrics) {
      rows.add(cells(m.path("metric").asText("-"), m.path("verdict").asText("-"), "canary " + arm(m.path("canary")),
          "stable " + arm(m.path("stable")), has(m, "bound") ? "bound " + bound(m.path("bound")) : "",
          has(m, "limit") ? "limit " + m.path("limit").asText() : "", m.path("reason").asText("")));
    }
    List<String> lines = Output.tableLines(Collections.nCopies(7, ""), rows);
    return lines.subList(1, lines.size());
  }

  /** Table cells, already in ASCII when the view is, so that columns line up either way. */
  private List<String> cells(String... cells) {
    return Arrays.stream(cells).map(c -> unicode ? c : ascii(c)).toList();
  }

  /** One arm of a comparison: {@code 0.024 (n=83)}, {@code n=0} without an estimate, {@code -} when absent. */
  private static String arm(JsonNode a) {
    if (!has(a, "n") && !has(a, "estimate")) {
      return "-";
    }
    String n = "n=" + a.path("n").asText("?");
    return has(a, "estimate") ? number(a.path("estimate")) + " (" + n + ")" : n;
  }

  private static String bound(JsonNode b) {
    if (!has(b, "low") && !has(b, "high")) {
      return "-";
    }
    return "[" + (has(b, "low") ? number(b.path("low")) : "-∞") + ", " + (has(b, "high") ? number(b.path("high")) : "∞") + "]";
  }

  /** A number for people: three significant digits below 100 (0.024, 0.0193), one decimal at most above (812.3). */
  static String number(JsonNode n) {
    if (!n.isNumber()) {
      return n.asText("-");
    }
    double d = n.asDouble();
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      return Double.toString(d);
    }
    BigDecimal b = Math.abs(d) >= 100 ? BigDecimal.valueOf(d).setScale(1, java.math.RoundingMode.HALF_EVEN)
        : new BigDecimal(d).round(new MathContext(3));
    b = b.stripTrailingZeros();
    return (b.scale() < 0 ? b.setScale(0) : b).toPlainString();
  }

  /** A past timestamp as its distance from now ("30s ago") when the view has a clock, as is otherwise. */
  private String time(String ts) {
    return relative(ts, false).orElse(ts);
  }

  /** A deadline as its distance from now ("in 9m", or "2m ago" once passed) when the view has a clock, as is otherwise. */
  private String until(String ts) {
    return relative(ts, true).orElse(ts);
  }

  /** A timestamp as is, followed by its distance from now when the view has a clock. */
  private String stamp(String ts) {
    return ts + relative(ts, false).map(r -> " (" + r + ")").orElse("");
  }

  /** The distance from now; a past timestamp a little ahead of the local clock (skew) reads "now". */
  private Optional<String> relative(String ts, boolean future) {
    if (now.isEmpty()) {
      return Optional.empty();
    }
    Instant t;
    try {
      t = Instant.parse(ts);
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
    Duration d = Duration.between(now.get(), t);
    return Optional.of(d.isNegative() ? Output.span(d.negated()) + " ago" : future ? "in " + Output.span(d) : "now");
  }

  private static String label(String l) {
    return String.format("%-11s", l);
  }

  private static boolean has(JsonNode n, String field) {
    JsonNode v = n.path(field);
    return !v.isMissingNode() && !v.isNull();
  }

  private String text(List<String> lines) {
    String t = String.join("\n", lines) + "\n";
    return unicode ? t : ascii(t);
  }

  /** The text in plain ASCII: known symbols spelled out, anything else non-ASCII as '?'. */
  static String ascii(String t) {
    StringBuilder sb = new StringBuilder(t.length());
    for (int i = 0; i < t.length(); i++) {
      char c = t.charAt(i);
      if (c < 128) {
        sb.append(c);
      } else {
        sb.append(ASCII.getOrDefault(c, "?"));
        if (Character.isHighSurrogate(c) && i + 1 < t.length()) {
          i++;
        }
      }
    }
    return sb.toString();
  }
}
