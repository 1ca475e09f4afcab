package dev.flightdeck.rollout.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Durations;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Resource;
import dev.flightdeck.rollout.analysis.AnalysisSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a Rollout does, step by step: canary steps as written; blue-green and rings compiled to
 * the same steps, so one controller drives all three.
 *
 * @param strategy canary, blueGreen or rings
 * @param background an analysis that runs alongside the steps, from the first step that sends
 *     traffic to the candidate until the end; a failure rolls back whatever the step
 * @param onInconclusive what an analysis that runs out of time does: pause (for a human) or rollback
 * @param drainTimeout how long the version that lost is reported as draining, at most
 */
public record Plan(String strategy, List<Step> steps, Optional<AnalysisSpec> background, boolean rollbackOnInconclusive,
    Optional<Duration> drainTimeout) {

  /** A Rollout that cannot be planned, with every problem as {@code path: message}. */
  public static final class InvalidPlanException extends IllegalArgumentException {
    private final List<String> problems;

    InvalidPlanException(List<String> problems) {
      super(String.join("; ", problems));
      this.problems = List.copyOf(problems);
    }

    /** Each problem as {@code path: message}. */
    public List<String> problems() {
      return problems;
    }
  }

  /** Plans a Rollout; throws {@link InvalidPlanException} listing every problem. */
  public static Plan of(Resource rollout) {
    return of(rollout.spec());
  }

  /** Plans a Rollout spec. */
  public static Plan of(JsonNode spec) {
    List<String> problems = new ArrayList<>();
    JsonNode strategy = spec.path("strategy");
    List<Step> steps = new ArrayList<>();
    String name;
    Optional<AnalysisSpec> background = Optional.empty();
    String candidate = spec.path("candidate").asText();
    if (strategy.has("canary")) {
      name = "canary";
      JsonNode c = strategy.get("canary");
      int i = 0;
      for (JsonNode s : c.path("steps")) {
        canaryStep(s, "spec.strategy.canary.steps[" + i++ + "]", problems).ifPresent(steps::add);
      }
      if (c.has("analysis")) {
        background = AnalysisSpec.parse(c.get("analysis"), "spec.strategy.canary.analysis", problems);
      }
    } else if (strategy.has("blueGreen")) {
      name = "blueGreen";
      JsonNode b = strategy.get("blueGreen");
      String header = b.path("previewHeader").asText("X-Flightdeck-Preview");
      ObjectNode rule = Json.object().put("name", "rollout-preview").put("version", candidate);
      rule.putObject("match").putObject("headers").put(header, "*");
      steps.add(new Step.Route("preview by header " + header, List.of(rule)));
      if (b.has("prePromotionAnalysis")) {
        AnalysisSpec.parse(b.get("prePromotionAnalysis"), "spec.strategy.blueGreen.prePromotionAnalysis", problems)
            .ifPresent(a -> steps.add(new Step.Analyze(a, "pre-promotion")));
      }
      if (!b.path("autoPromote").asBoolean(false)) {
        steps.add(new Step.Pause(Optional.empty()));
      }
      steps.add(new Step.SetWeight(100));
      if (b.has("postPromotionAnalysis")) {
        AnalysisSpec.parse(b.get("postPromotionAnalysis"), "spec.strategy.blueGreen.postPromotionAnalysis", problems)
            .ifPresent(a -> steps.add(new Step.Analyze(a, "post-promotion")));
      }
    } else if (strategy.has("rings")) {
      name = "rings";
      int i = 0;
      for (JsonNode ring : strategy.get("rings").path("rings")) {
        String at = "spec.strategy.rings.rings[" + i++ + "]";
        String ringName = ring.path("name").asText();
        boolean routed = false;
        if (ring.has("headers") || ring.has("users")) {
          ObjectNode rule = Json.object().put("name", "rollout-ring-" + ringName).put("version", candidate);
          ObjectNode match = rule.putObject("match");
          if (ring.has("headers")) {
            match.set("headers", ring.get("headers").deepCopy());
          }
          if (ring.has("users")) {
            match.set("user", ring.get("users").deepCopy());
          }
          steps.add(new Step.Route("ring " + ringName, List.of(rule)));
          routed = true;
        }
        if (ring.has("percent")) {
          steps.add(new Step.SetWeight(ring.path("percent").asInt()));
          routed = true;
        }
        if (!routed) {
          problems.add(at + ": a ring needs headers, users or percent");
        }
        if (ring.has("analysis")) {
          AnalysisSpec.parse(ring.get("analysis"), at + ".analysis", problems)
              .ifPresent(a -> steps.add(new Step.Analyze(a, "ring " + ringName)));
        }
      }
    } else {
      throw new InvalidPlanException(List.of("spec.strategy: expected exactly one of canary, blueGreen, rings"));
    }
    Optional<Duration> drain = Optional.empty();
    if (spec.has("drainTimeout")) {
      try {
        drain = Optional.of(Durations.parse(spec.path("drainTimeout").asText()));
      } catch (IllegalArgumentException e) {
        problems.add("spec.drainTimeout: " + e.getMessage());
      }
    }
    if (!problems.isEmpty()) {
      throw new InvalidPlanException(problems);
    }
    return new Plan(name, List.copyOf(steps), background, "rollback".equals(spec.path("onInconclusive").asText()), drain);
  }

  private static Optional<Step> canaryStep(JsonNode s, String at, List<String> problems) {
    if (s.has("setWeight")) {
      return Optional.of(new Step.SetWeight(s.path("setWeight").asInt()));
    }
    if (s.has("pause")) {
      JsonNode d = s.get("pause").get("duration");
      if (d == null) {
        return Optional.of(new Step.Pause(Optional.empty()));
      }
      try {
        return Optional.of(new Step.Pause(Optional.of(Durations.parse(d.asText()))));
      } catch (IllegalArgumentException e) {
        problems.add(at + ".pause.duration: " + e.getMessage());
        return Optional.empty();
      }
    }
    if (s.has("analysis")) {
      return AnalysisSpec.parse(s.get("analysis"), at + ".analysis", problems).map(a -> new Step.Analyze(a, ""));
    }
    if (s.has("shadow")) {
      JsonNode sh = s.get("shadow");
      try {
        return Optional.of(new Step.Shadow(sh.path("percent").asInt(), Durations.parse(sh.path("duration").asText())));
      } catch (IllegalArgumentException e) {
        problems.add(at + ".shadow.duration: " + e.getMessage());
        return Optional.empty();
      }
    }
    if (s.has("evalGate")) {
      return Optional.of(new Step.EvalGate(s.get("evalGate").path("suite").asText()));
    }
    problems.add(at + ": expected exactly one of setWeight, pause, analysis, shadow, evalGate");
    return Optional.empty();
  }
}
