package dev.flightdeck.eval.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.jayway.jsonpath.JsonPath;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.eval.assertion.JsonPaths;
import dev.flightdeck.eval.assertion.RunOutput;
import dev.flightdeck.eval.assertion.ToolCall;
import dev.flightdeck.eval.suite.Suite;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * Pulls the answer, the trajectory and the usage out of an agent's response: by the suite's JSON
 * paths when it names them, otherwise from the places agents usually put them ({@code answer},
 * {@code output}, OpenAI's {@code choices[0].message}, {@code trajectory} or OpenAI-style
 * {@code messages}, {@code usage}).
 */
final class Extraction {

  private static final List<JsonPath> ANSWER = paths("$.answer", "$.output", "$.choices[0].message.content",
      "$.content", "$.text", "$.message");
  private static final List<JsonPath> TRAJECTORY = paths("$.trajectory", "$.tool_calls", "$.toolCalls",
      "$.messages", "$.choices[0].message.tool_calls");
  private static final List<JsonPath> TOKENS = paths("$.usage.total_tokens", "$.usage.totalTokens", "$.tokens");
  private static final List<JsonPath> COST = paths("$.usage.cost", "$.cost");

  private final Optional<JsonPath> answer;
  private final Optional<JsonPath> trajectory;
  private final Optional<JsonPath> tokens;
  private final Optional<JsonPath> cost;

  Extraction(Suite.Extract e) {
    answer = e.answer().map(JsonPaths::compile);
    trajectory = e.trajectory().map(JsonPaths::compile);
    tokens = e.tokens().map(JsonPaths::compile);
    cost = e.cost().map(JsonPaths::compile);
  }

  RunOutput output(int status, String body, Duration latency) {
    Optional<JsonNode> json = parse(body);
    String text = json.flatMap(j -> first(j, answer, ANSWER))
        .map(v -> v.isTextual() ? v.asText() : v.toString())
        .orElse(json.isPresent() && answer.isPresent() ? "" : body);
    List<ToolCall> calls = json.flatMap(j -> first(j, trajectory, TRAJECTORY)).map(Extraction::calls).orElse(List.of());
    OptionalLong t = json.map(this::tokens).orElse(OptionalLong.empty());
    OptionalDouble c = json.flatMap(j -> first(j, cost, COST)).filter(JsonNode::isNumber)
        .map(v -> OptionalDouble.of(v.doubleValue())).orElse(OptionalDouble.empty());
    return new RunOutput(status, body, json, text, calls, t, c, latency);
  }

  private OptionalLong tokens(JsonNode j) {
    Optional<JsonNode> v = first(j, tokens, TOKENS).filter(JsonNode::isNumber);
    if (v.isPresent()) {
      return OptionalLong.of(v.get().longValue());
    }
    JsonNode u = j.path("usage");
    long in = u.path("prompt_tokens").asLong(u.path("input_tokens").asLong(-1));
    long out = u.path("completion_tokens").asLong(u.path("output_tokens").asLong(-1));
    return in >= 0 && out >= 0 ? OptionalLong.of(in + out) : OptionalLong.empty();
  }

  private static Optional<JsonNode> first(JsonNode root, Optional<JsonPath> configured, List<JsonPath> guesses) {
    if (configured.isPresent()) {
      return JsonPaths.read(root, configured.get());
    }
    for (JsonPath p : guesses) {
      Optional<JsonNode> v = JsonPaths.read(root, p);
      if (v.isPresent()) {
        return v;
      }
    }
    return Optional.empty();
  }

  private static Optional<JsonNode> parse(String body) {
    String s = body.stripLeading();
    if (s.isEmpty() || s.charAt(0) != '{' && s.charAt(0) != '[') {
      return Optional.empty();
    }
    try {
      return Optional.of(Json.mapper().readTree(body));
    } catch (java.io.IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** Tool calls from a list of calls or of OpenAI-style messages. */
  static List<ToolCall> calls(JsonNode list) {
    if (!list.isArray()) {
      return List.of();
    }
    List<ToolCall> out = new ArrayList<>();
    Map<String, Integer> byId = new HashMap<>();
    for (JsonNode item : list) {
      if (item.has("role")) {
        String role = item.path("role").asText();
        if (role.equals("assistant") || role.equals("ai")) {
          for (JsonNode tc : item.path("tool_calls")) {
            byId.put(tc.path("id").asText(""), out.size());
            out.add(call(tc, false));
          }
        } else if (role.equals("tool")) {
          Integer i = byId.get(item.path("tool_call_id").asText(""));
          if (i != null && failed(item) && i < out.size()) {
            ToolCall c = out.get(i);
            out.set(i, new ToolCall(c.name(), c.args(), true));
          }
        }
        continue;
      }
      if (item.isObject()) {
        out.add(call(item, failed(item)));
      }
    }
    return out;
  }

  private static ToolCall call(JsonNode n, boolean error) {
    JsonNode fn = n.path("function");
    String name = firstText(n, "name", "tool", "tool_name").orElse(fn.path("name").asText(""));
    JsonNode args = n.has("arguments") ? n.get("arguments") : n.has("args") ? n.get("args")
        : n.has("input") ? n.get("input") : n.has("parameters") ? n.get("parameters") : fn.path("arguments");
    return new ToolCall(name, object(args), error);
  }

  private static Optional<String> firstText(JsonNode n, String... fields) {
    for (String f : fields) {
      if (n.path(f).isTextual()) {
        return Optional.of(n.get(f).asText());
      }
    }
    return Optional.empty();
  }

  private static JsonNode object(JsonNode args) {
    if (args.isObject()) {
      return args;
    }
    if (args.isTextual()) {
      try {
        JsonNode parsed = Json.mapper().readTree(args.asText());
        if (parsed != null && parsed.isObject()) {
          return parsed;
        }
      } catch (java.io.IOException | RuntimeException e) {
        // not JSON: kept as text below
      }
      return Json.object().put("_", args.asText());
    }
    return Json.object();
  }

  private static boolean failed(JsonNode n) {
    JsonNode e = n.path("error");
    if (!e.isMissingNode() && !e.isNull() && !(e.isBoolean() && !e.asBoolean())) {
      return true;
    }
    if (n.path("isError").asBoolean(false) || n.path("status").asText("").equalsIgnoreCase("error")
        || n.path("ok").isBoolean() && !n.path("ok").asBoolean()) {
      return true;
    }
    JsonNode content = n.path("content");
    if (content.isTextual() && content.asText().startsWith("{")) {
      try {
        JsonNode c = Json.mapper().readTree(content.asText());
        return c != null && c.has("error") && !c.get("error").isNull();
      } catch (java.io.IOException | RuntimeException ex) {
        return false;
      }
    }
    return false;
  }

  private static List<JsonPath> paths(String... p) {
    List<JsonPath> out = new ArrayList<>();
    for (String s : p) {
      out.add(JsonPaths.compile(s));
    }
    return List.copyOf(out);
  }
}
