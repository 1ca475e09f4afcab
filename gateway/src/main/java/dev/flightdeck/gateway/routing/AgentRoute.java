package dev.flightdeck.gateway.routing;

import dev.flightdeck.gateway.upstream.AdmissionGate;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One Agent as the gateway routes it: rules first, then session pins, then the weighted split.
 *
 * @param versions every AgentVersion of this agent that exists, routed to or not (pinned
 *     sessions and rules may still need a version whose weight is 0)
 * @param weighted the versions of the weighted split, in order
 * @param cumulative running totals of their weights (the last is 100, or 0 when there is no split)
 * @param gate the agent-wide admission gate, or null
 * @param shadow where to mirror requests, or null
 */
public record AgentRoute(
    String name,
    List<Rule> rules,
    Map<String, VersionTarget> versions,
    String[] weighted,
    int[] cumulative,
    SessionSpec session,
    Shadow shadow,
    AdmissionGate gate) {

  /** How sessions are recognised, and what happens when a pinned version is gone. */
  public record SessionSpec(String header, String cookie, String bodyField, long ttlMillis, boolean migrate) {}

  /**
   * Shadow traffic: mirror {@code percent} of requests to {@code version}, comparing answers by
   * {@code compare} ({@code none}, {@code exact}, {@code semantic} with {@code minSimilarity}).
   */
  public record Shadow(String version, int percent, String compare, double minSimilarity) {}

  /** Chooses a version of the weighted split for a new session (stable across replicas). */
  public String chooseFor(String sessionId) {
    int total = cumulative.length == 0 ? 0 : cumulative[cumulative.length - 1];
    if (total == 0) {
      return null;
    }
    return pick(Hashing.bucket(sessionId.getBytes(StandardCharsets.UTF_8), total));
  }

  /** Chooses a version of the weighted split at random (requests without a session). */
  public String chooseRandom() {
    int total = cumulative.length == 0 ? 0 : cumulative[cumulative.length - 1];
    if (total == 0) {
      return null;
    }
    return pick(ThreadLocalRandom.current().nextInt(total));
  }

  private String pick(int point) {
    for (int i = 0; i < cumulative.length; i++) {
      if (point < cumulative[i]) {
        return weighted[i];
      }
    }
    return weighted[weighted.length - 1];
  }
}
