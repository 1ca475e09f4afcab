package dev.flightdeck.eval.assertion;

import com.fasterxml.jackson.databind.JsonNode;

/** One tool call an agent made: the tool, its arguments (a JSON object) and whether it failed. */
public record ToolCall(String name, JsonNode args, boolean error) {

  /** The call as text for messages and loop detection: {@code name{"a":1}} with canonical argument order. */
  public String signature() {
    return name + Canonical.json(args);
  }
}
