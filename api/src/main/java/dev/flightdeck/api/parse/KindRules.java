package dev.flightdeck.api.parse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Kind;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Checks that a JSON Schema cannot express: sums, uniqueness, "one of these two fields".
 * Runs only on documents that passed their schema, so the shapes are known.
 */
final class KindRules {

  private KindRules() {}

  static void check(Kind kind, JsonNode doc, SourceMap map, Consumer<Diagnostic> out) {
    JsonNode spec = doc.path("spec");
    switch (kind) {
      case AGENT -> agent(spec, map, out);
      case AGENT_VERSION -> agentVersion(spec, map, out);
      case ROLLOUT -> rollout(spec, map, out);
      case EVAL_SUITE -> evalSuite(spec, map, out);
      case MODEL_PROVIDER -> modelProvider(spec, map, out);
      case BUDGET -> budget(spec, map, out);
    }
  }

  private static void agent(JsonNode spec, SourceMap map, Consumer<Diagnostic> out) {
    JsonNode routes = spec.path("routes");
    if (routes.isArray() && !routes.isEmpty()) {
      int sum = 0;
      boolean allWeightsValid = true;
      Set<String> versions = new HashSet<>();
      for (int i = 0; i < routes.size(); i++) {
        JsonNode r = routes.get(i);
        allWeightsValid &= r.path("weight").canConvertToInt() && r.path("weight").isIntegralNumber();
        sum += r.path("weight").asInt();
        String v = r.path("version").asText();
        if (!versions.add(v)) {
          out.accept(map.at("spec.routes[" + i + "].version",
              "version \"" + v + "\" appears in more than one route; expected each version once"));
        }
      }
      if (allWeightsValid && sum != 100) {
        out.accept(map.at("spec.routes", "expected weights that add up to 100, got " + sum));
      }
    }
    unique(spec.path("rules"), "name", "spec.rules", map, out);
    JsonNode rules = spec.path("rules");
    for (int i = 0; i < rules.size(); i++) {
      JsonNode user = rules.path(i).path("match").path("user");
      if (!user.isObject()) {
        continue;
      }
      String at = "spec.rules[" + i + "].match.user";
      if (user.has("header") == user.has("cookie")) {
        out.accept(map.at(at, "expected exactly one of header or cookie (where the user id is read from)"));
      }
      if (!user.has("in") && !user.has("percent")) {
        out.accept(map.at(at, "expected in (a list of user ids), percent (a share of all users), or both"));
      }
    }
  }

  private static void rollout(JsonNode spec, SourceMap map, Consumer<Diagnostic> out) {
    JsonNode strategy = spec.path("strategy");
    JsonNode canary = strategy.path("canary");
    analysis(canary.path("analysis"), "spec.strategy.canary.analysis", map, out);
    for (int i = 0; i < canary.path("steps").size(); i++) {
      analysis(canary.path("steps").path(i).path("analysis"), "spec.strategy.canary.steps[" + i + "].analysis", map, out);
    }
    JsonNode blueGreen = strategy.path("blueGreen");
    analysis(blueGreen.path("prePromotionAnalysis"), "spec.strategy.blueGreen.prePromotionAnalysis", map, out);
    analysis(blueGreen.path("postPromotionAnalysis"), "spec.strategy.blueGreen.postPromotionAnalysis", map, out);
    JsonNode rings = strategy.path("rings").path("rings");
    for (int i = 0; i < rings.size(); i++) {
      String at = "spec.strategy.rings.rings[" + i + "]";
      JsonNode ring = rings.path(i);
      if (!ring.has("headers") && !ring.has("users") && !ring.has("percent")) {
        out.accept(map.at(at, "expected headers, users or percent (who this ring sends to the candidate)"));
      }
      analysis(ring.path("analysis"), at + ".analysis", map, out);
    }
    unique(rings, "name", "spec.strategy.rings.rings", map, out);
  }

  /** Limits that a metric's type cannot take. */
  private static void analysis(JsonNode analysis, String at, SourceMap map, Consumer<Diagnostic> out) {
    JsonNode metrics = analysis.path("metrics");
    for (int i = 0; i < metrics.size(); i++) {
      JsonNode m = metrics.path(i);
      String name = m.path("name").asText();
      String path = at + ".metrics[" + i + "]";
      if (!m.has("max") && !m.has("min") && !m.has("maxIncrease") && !m.has("maxRatio")) {
        out.accept(map.at(path, "metric " + name + " states no limit; expected at least one of max, min, maxIncrease, maxRatio"));
      }
      if (!m.has("header") && name.startsWith("latencyP") && m.has("min")) {
        out.accept(map.at(path + ".min", "a latency quantile takes max, maxIncrease or maxRatio, not min"));
      }
      if (!m.has("header") && name.equals("shadowDivergence") && (m.has("maxIncrease") || m.has("maxRatio"))) {
        out.accept(map.at(path, "shadowDivergence is measured on the candidate only (stable has no shadow); use max"));
      }
    }
  }

  private static void agentVersion(JsonNode spec, SourceMap map, Consumer<Diagnostic> out) {
    boolean endpoints = spec.path("endpoints").size() > 0;
    boolean run = spec.has("run");
    if (!endpoints && !run) {
      out.accept(map.at("spec", "expected endpoints (where it runs) or run (a command to start it), got neither"));
    }
    boolean aliasesAllowed = spec.path("allowModelAliases").asBoolean(false);
    JsonNode models = spec.path("models");
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < models.size(); i++) {
      String id = models.path(i).path("id").asText();
      String provider = models.path(i).path("provider").asText("openai");
      String path = "spec.models[" + i + "].id";
      if (!seen.add(provider + "/" + id)) {
        out.accept(map.at(path, "model \"" + id + "\" is listed twice"));
      }
      if (!aliasesAllowed && dev.flightdeck.api.resource.ModelIds.isAlias(id)) {
        out.accept(map.at(path, "expected a pinned model id such as gpt-4o-2024-08-06, got the alias \""
            + id + "\" (set spec.allowModelAliases: true to accept aliases)"));
      }
    }
  }

  private static void modelProvider(JsonNode spec, SourceMap map, Consumer<Diagnostic> out) {
    unique(spec.path("models"), "id", "spec.models", map, out);
  }

  private static void budget(JsonNode spec, SourceMap map, Consumer<Diagnostic> out) {
    if (!spec.has("tokens") && !spec.has("costUsd")) {
      out.accept(map.at("spec", "expected a limit: tokens, costUsd or both"));
    }
    JsonNode selector = spec.path("selector");
    if (selector.has("team") && (selector.has("agent") || selector.has("version"))) {
      out.accept(map.at("spec.selector", "expected team alone (it selects every agent the team owns), or agent and/or version"));
    }
    String per = spec.path("per").asText("");
    int level = selector.has("team") ? 3 : selector.has("agent") ? 2 : 1;
    int perLevel = switch (per) {
      case "team" -> 3;
      case "agent" -> 2;
      case "version" -> 1;
      default -> 0;
    };
    if (perLevel > level) {
      out.accept(map.at("spec.per", "per: " + per + " is wider than the selector (" + selector.fieldNames().next()
          + "); expected session, or a level at or below the selector's"));
    }
  }

  private static void evalSuite(JsonNode spec, SourceMap map, Consumer<Diagnostic> out) {
    if (!spec.has("cases") && !spec.has("casesFrom")) {
      out.accept(map.at("spec", "expected cases (inline) or casesFrom (a file), got neither"));
    }
    unique(spec.path("cases"), "name", "spec.cases", map, out);
    if (spec.path("schedule").isTextual()) {
      try {
        dev.flightdeck.api.resource.Schedules.parse(spec.get("schedule").asText());
      } catch (IllegalArgumentException e) {
        out.accept(map.at("spec.schedule", e.getMessage()));
      }
    }
    String judgeModel = spec.path("judge").path("model").asText("");
    if (dev.flightdeck.api.resource.ModelIds.isAlias(judgeModel)) {
      out.accept(map.at("spec.judge.model", "expected a pinned model id for the judge (scores must not drift "
          + "when the provider ships a new model), got the alias \"" + judgeModel + "\""));
    }
  }

  private static void unique(JsonNode array, String field, String path, SourceMap map, Consumer<Diagnostic> out) {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < array.size(); i++) {
      String v = array.path(i).path(field).asText();
      if (!seen.add(v)) {
        out.accept(map.at(path + "[" + i + "]." + field, "\"" + v + "\" is used twice; expected unique names"));
      }
    }
  }
}
