package dev.flightdeck.eval.assertion;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * What one run of a case produced: the HTTP status and body, the answer, trajectory and usage
 * extracted from it, and how long it took.
 */
public record RunOutput(int status, String body, Optional<JsonNode> json, String answer,
    List<ToolCall> trajectory, OptionalLong tokens, OptionalDouble cost, Duration latency) {

  public RunOutput {
    trajectory = List.copyOf(trajectory);
  }

  /** The answer parsed as JSON, when it is JSON. */
  public Optional<JsonNode> answerJson() {
    String a = answer.strip();
    if (a.isEmpty() || "{[\"".indexOf(a.charAt(0)) < 0 && !Character.isDigit(a.charAt(0)) && a.charAt(0) != '-') {
      return Optional.empty();
    }
    try {
      return Optional.of(dev.flightdeck.api.resource.Json.mapper().readTree(a));
    } catch (java.io.IOException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
