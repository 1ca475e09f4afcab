package dev.flightdeck.rollout.controller;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import java.util.ArrayList;
import java.util.List;

/**
 * A rollout's stored state: everything the controller needs to carry on after a restart. It is
 * replaced as a whole by each transition, never edited in place.
 *
 * @param uid the Rollout's uid (a Rollout deleted and created again is a new rollout)
 * @param generation the Rollout's resourceVersion this state follows
 * @param stable the version that served before the rollout
 * @param step the index of the current step ({@code steps.size()} when all are done)
 * @param stepStartedAt when the current step began, epoch ms
 * @param weight the candidate's share of new sessions, in percent
 * @param rules Agent rules routing matching requests to the candidate (rings, preview)
 * @param pausedBy why it is paused: {@code manual}, {@code step}, {@code inconclusive}, or empty
 * @param backgroundSince when the background analysis began, epoch ms; 0 before traffic
 * @param analysis bookkeeping of threshold-mode analyses ({@code step}, {@code background})
 * @param finishedAt when it reached a terminal phase, epoch ms; 0 before
 * @param draining the version that lost, still serving its pinned sessions; empty when none
 * @param drainDeadline until when it is reported as draining, epoch ms
 */
public record RolloutState(String uid, long generation, String agent, String stable, String candidate, Phase phase,
    int attempt, int step, long stepStartedAt, int weight, List<ObjectNode> rules, String pausedBy, String message,
    long backgroundSince, ObjectNode analysis, long finishedAt, String draining, long drainDeadline) {

  /** Freezes the parts. */
  public RolloutState {
    rules = List.copyOf(rules);
    analysis = analysis == null ? Json.object() : analysis;
    pausedBy = pausedBy == null ? "" : pausedBy;
    message = message == null ? "" : message;
    draining = draining == null ? "" : draining;
  }

  RolloutState withPhase(Phase p, String pausedBy, String message) {
    return new RolloutState(uid, generation, agent, stable, candidate, p, attempt, step, stepStartedAt, weight, rules,
        pausedBy, message, backgroundSince, analysis, finishedAt, draining, drainDeadline);
  }

  /** The next step begins at {@code now}, with the given routing. */
  RolloutState nextStep(long now, int newWeight, List<ObjectNode> newRules, long newBackgroundSince, String message) {
    return new RolloutState(uid, generation, agent, stable, candidate, Phase.Progressing, attempt, step + 1, now,
        newWeight, newRules, "", message, newBackgroundSince, without(analysis, "step"), finishedAt, draining,
        drainDeadline);
  }

  RolloutState withStepStartedAt(long now) {
    return new RolloutState(uid, generation, agent, stable, candidate, phase, attempt, step, now, weight, rules,
        pausedBy, message, backgroundSince, without(analysis, "step"), finishedAt, draining, drainDeadline);
  }

  RolloutState withAnalysis(String key, ObjectNode bookkeeping, String message) {
    ObjectNode a = analysis.deepCopy();
    a.set(key, bookkeeping);
    return new RolloutState(uid, generation, agent, stable, candidate, phase, attempt, step, stepStartedAt, weight,
        rules, pausedBy, message, backgroundSince, a, finishedAt, draining, drainDeadline);
  }

  RolloutState withGeneration(long g, int clampedStep) {
    return new RolloutState(uid, g, agent, stable, candidate, phase, attempt, clampedStep, stepStartedAt, weight, rules,
        pausedBy, message, backgroundSince, analysis, finishedAt, draining, drainDeadline);
  }

  /** A terminal phase: the winner takes every new session and the loser drains. */
  RolloutState finish(Phase p, long now, long drainFor, String message) {
    boolean candidateWon = p == Phase.Promoted;
    return new RolloutState(uid, generation, agent, stable, candidate, p, attempt, step, stepStartedAt,
        candidateWon ? 100 : 0, List.of(), "", message, 0, Json.object(), now, candidateWon ? stable : candidate,
        now + drainFor);
  }

  private static ObjectNode without(ObjectNode o, String field) {
    ObjectNode c = o.deepCopy();
    c.remove(field);
    return c;
  }

  /** The state as stored. */
  public String toJson() {
    ObjectNode o = Json.object().put("uid", uid).put("generation", generation).put("agent", agent)
        .put("stable", stable).put("candidate", candidate).put("phase", phase.name()).put("attempt", attempt)
        .put("step", step).put("stepStartedAt", stepStartedAt).put("weight", weight);
    ArrayNode r = o.putArray("rules");
    rules.forEach(r::add);
    o.put("pausedBy", pausedBy).put("message", message).put("backgroundSince", backgroundSince);
    o.set("analysis", analysis);
    o.put("finishedAt", finishedAt).put("draining", draining).put("drainDeadline", drainDeadline);
    return Json.write(o);
  }

  /** Reads {@link #toJson()}'s output. */
  public static RolloutState fromJson(String json) {
    JsonNode o = Json.read(json);
    List<ObjectNode> rules = new ArrayList<>();
    o.path("rules").forEach(n -> rules.add((ObjectNode) n));
    return new RolloutState(o.path("uid").asText(), o.path("generation").asLong(), o.path("agent").asText(),
        o.path("stable").asText(), o.path("candidate").asText(), Phase.valueOf(o.path("phase").asText()),
        o.path("attempt").asInt(1), o.path("step").asInt(), o.path("stepStartedAt").asLong(), o.path("weight").asInt(),
        rules, o.path("pausedBy").asText(), o.path("message").asText(), o.path("backgroundSince").asLong(),
        o.path("analysis").isObject() ? (ObjectNode) o.get("analysis") : Json.object(), o.path("finishedAt").asLong(),
        o.path("draining").asText(), o.path("drainDeadline").asLong());
  }
}
