package dev.flightdeck.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.flightdeck.api.FlightdeckException;
import dev.flightdeck.api.resource.Durations;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * What the simulated LLM answers: the models it serves, its latency, and rules that choose a
 * reply (text or tool calls) and, on demand, a fault. The first rule whose {@code when} matches
 * the conversation answers; {@code default} answers the rest. See docs/simulator.md.
 *
 * @param seed seeds the random draws (latency, fault rates), so runs repeat
 */
public record Scenario(List<String> models, long seed, Latency latency, List<Rule> rules, Rule fallback) {

  /** Latency: time to the first token drawn from a distribution, then a fixed time per streamed chunk. */
  public record Latency(String distribution, Duration median, Duration p99, Duration min, Duration max,
      Duration perChunk) {
    static final Latency NONE = new Latency("fixed", Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO,
        Duration.ZERO);
  }

  /** A tool call the model makes, with its arguments as a JSON object. */
  public record ToolCall(String name, String arguments) {}

  /**
   * A fault: {@code status} (an HTTP error), {@code timeout} (no answer for {@code duration}),
   * {@code malformed} (200 with a body that is not JSON), {@code cut} (the stream or body is
   * broken off after {@code afterChunks} chunks), {@code burn} (the answer and its usage are
   * {@code factor} times larger); each happens with probability {@code rate}.
   */
  public record Fault(String kind, int status, Duration duration, int afterChunks, int factor, double rate) {}

  /**
   * A rule: when the last user message matches {@code user} (a regular expression, searched),
   * the system prompt matches {@code system} (searched in the system and developer messages, or
   * Anthropic's {@code system}), the last message has role {@code lastRole}, and the last tool
   * result is from {@code tool} (each optional), answer with {@code reply} or {@code toolCalls}, report {@code usage}
   * overrides, wait {@code latency} instead of the scenario's, and maybe fail with {@code fault}.
   */
  public record Rule(String name, Pattern user, Pattern system, String lastRole, String tool, String reply, List<ToolCall> toolCalls,
      long promptTokens, long completionTokens, long cachedTokens, Latency latency, Fault fault) {}

  private static final ObjectMapper YAML = new YAMLMapper();
  private static final Set<String> TOP = Set.of("models", "seed", "latency", "rules", "default");
  private static final Set<String> RULE = Set.of("name", "when", "reply", "toolCalls", "usage", "latency", "fault");

  /** A scenario that answers every request to {@code model} with {@code reply} at once. */
  public static Scenario replying(String model, String reply) {
    return new Scenario(List.of(model), 1, Latency.NONE, List.of(),
        new Rule("default", null, null, null, null, reply, List.of(), -1, -1, 0, null, null));
  }

  /** Reads a scenario file; every mistake names the file and the field. */
  public static Scenario read(Path file) {
    try {
      return parse(file.toString(), Files.readString(file));
    } catch (IOException e) {
      throw new FlightdeckException("cannot read scenario " + file + ": " + e.getMessage(), e);
    }
  }

  /** Parses scenario YAML (or JSON); {@code source} names it in errors. */
  public static Scenario parse(String source, String yaml) {
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new FlightdeckException(source + ": not valid YAML: " + e.getOriginalMessage());
    }
    return new Parser(source).scenario(root == null ? JsonNodeFactory.instance.objectNode() : root);
  }

  private static final class Parser {
    private final String source;

    Parser(String source) {
      this.source = source;
    }

    private FlightdeckException error(String field, String message) {
      return new FlightdeckException(source + ": " + field + ": " + message);
    }

    Scenario scenario(JsonNode root) {
      if (!root.isObject()) {
        throw error("(top)", "expected a mapping with models, latency, rules, default");
      }
      known(root, "(top)", TOP);
      List<String> models = new ArrayList<>();
      JsonNode m = root.path("models");
      if (!m.isArray() || m.isEmpty()) {
        throw error("models", "expected a list of model ids, such as [gpt-4o-mini-2024-07-18]");
      }
      for (int i = 0; i < m.size(); i++) {
        if (!m.get(i).isTextual() || m.get(i).asText().isBlank()) {
          throw error("models[" + i + "]", "expected a model id");
        }
        models.add(m.get(i).asText());
      }
      long seed = root.has("seed") ? integer(root.get("seed"), "seed", Long.MIN_VALUE, Long.MAX_VALUE) : 1;
      Latency latency = root.has("latency") ? latency(root.get("latency"), "latency") : Latency.NONE;
      List<Rule> rules = new ArrayList<>();
      JsonNode r = root.path("rules");
      if (!r.isMissingNode() && !r.isArray()) {
        throw error("rules", "expected a list of rules");
      }
      for (int i = 0; i < r.size(); i++) {
        rules.add(rule(r.get(i), "rules[" + i + "]", true));
      }
      Rule fallback = root.has("default") ? rule(root.get("default"), "default", false)
          : new Rule("default", null, null, null, null, "OK.", List.of(), -1, -1, 0, null, null);
      return new Scenario(List.copyOf(models), seed, latency, List.copyOf(rules), fallback);
    }

    Rule rule(JsonNode n, String at, boolean withWhen) {
      if (!n.isObject()) {
        throw error(at, "expected a mapping with " + (withWhen ? "when, " : "") + "reply or toolCalls");
      }
      known(n, at, withWhen ? RULE : Set.of("name", "reply", "toolCalls", "usage", "latency", "fault"));
      String name = n.has("name") ? text(n.get("name"), at + ".name") : at;
      Pattern user = null;
      Pattern system = null;
      String lastRole = null;
      String tool = null;
      if (n.has("when")) {
        JsonNode w = n.get("when");
        if (!w.isObject()) {
          throw error(at + ".when", "expected a mapping with user, system, lastRole, tool");
        }
        known(w, at + ".when", Set.of("user", "system", "lastRole", "tool"));
        if (w.has("user")) {
          user = regex(w.get("user"), at + ".when.user");
        }
        if (w.has("system")) {
          system = regex(w.get("system"), at + ".when.system");
        }
        if (w.has("lastRole")) {
          lastRole = text(w.get("lastRole"), at + ".when.lastRole");
          if (!Set.of("user", "tool", "assistant", "system").contains(lastRole)) {
            throw error(at + ".when.lastRole", "expected one of user, tool, assistant, system, got \"" + lastRole + "\"");
          }
        }
        if (w.has("tool")) {
          tool = text(w.get("tool"), at + ".when.tool");
        }
      }
      String reply = n.has("reply") ? text(n.get("reply"), at + ".reply") : null;
      List<ToolCall> calls = new ArrayList<>();
      JsonNode tc = n.path("toolCalls");
      if (!tc.isMissingNode()) {
        if (!tc.isArray() || tc.isEmpty()) {
          throw error(at + ".toolCalls", "expected a list of {name, arguments}");
        }
        for (int i = 0; i < tc.size(); i++) {
          String f = at + ".toolCalls[" + i + "]";
          JsonNode c = tc.get(i);
          if (!c.isObject()) {
            throw error(f, "expected a mapping with name and arguments");
          }
          known(c, f, Set.of("name", "arguments"));
          JsonNode args = c.path("arguments");
          if (!args.isMissingNode() && !args.isObject()) {
            throw error(f + ".arguments", "expected a mapping (the tool's JSON arguments)");
          }
          calls.add(new ToolCall(text(c.path("name"), f + ".name"),
              args.isMissingNode() ? "{}" : args.toString()));
        }
      }
      if (reply == null && calls.isEmpty() && !n.has("fault")) {
        throw error(at, "expected reply or toolCalls (or a fault)");
      }
      long prompt = -1;
      long completion = -1;
      long cached = 0;
      if (n.has("usage")) {
        JsonNode u = n.get("usage");
        known(u, at + ".usage", Set.of("promptTokens", "completionTokens", "cachedTokens"));
        prompt = u.has("promptTokens") ? integer(u.get("promptTokens"), at + ".usage.promptTokens", 0, 100_000_000) : -1;
        completion = u.has("completionTokens")
            ? integer(u.get("completionTokens"), at + ".usage.completionTokens", 0, 100_000_000) : -1;
        cached = u.has("cachedTokens") ? integer(u.get("cachedTokens"), at + ".usage.cachedTokens", 0, 100_000_000) : 0;
      }
      Latency latency = n.has("latency") ? latency(n.get("latency"), at + ".latency") : null;
      Fault fault = n.has("fault") ? fault(n.get("fault"), at + ".fault") : null;
      return new Rule(name, user, system, lastRole, tool, reply, List.copyOf(calls), prompt, completion, cached, latency, fault);
    }

    Latency latency(JsonNode n, String at) {
      if (!n.isObject()) {
        throw error(at, "expected a mapping such as {distribution: lognormal, median: 200ms, p99: 1s, perChunk: 5ms}");
      }
      known(n, at, Set.of("distribution", "median", "p99", "min", "max", "value", "perChunk"));
      String d = n.has("distribution") ? text(n.get("distribution"), at + ".distribution") : "fixed";
      Duration perChunk = duration(n, "perChunk", at, Duration.ZERO);
      return switch (d) {
        case "fixed" -> {
          Duration v = duration(n, "value", at, Duration.ZERO);
          yield new Latency(d, v, v, v, v, perChunk);
        }
        case "uniform" -> {
          Duration min = duration(n, "min", at, null);
          Duration max = duration(n, "max", at, null);
          if (min == null || max == null || max.compareTo(min) < 0) {
            throw error(at, "a uniform latency needs min and max, with min <= max");
          }
          yield new Latency(d, min.plus(max).dividedBy(2), max, min, max, perChunk);
        }
        case "lognormal" -> {
          Duration median = duration(n, "median", at, null);
          Duration p99 = duration(n, "p99", at, null);
          if (median == null || p99 == null || p99.compareTo(median) < 0 || median.isZero()) {
            throw error(at, "a lognormal latency needs median > 0 and p99 >= median");
          }
          yield new Latency(d, median, p99, Duration.ZERO, Duration.ofMinutes(10), perChunk);
        }
        default -> throw error(at + ".distribution", "expected one of fixed, uniform, lognormal, got \"" + d + "\"");
      };
    }

    Fault fault(JsonNode n, String at) {
      if (!n.isObject()) {
        throw error(at, "expected a mapping such as {kind: status, status: 503, rate: 0.1}");
      }
      known(n, at, Set.of("kind", "status", "duration", "afterChunks", "factor", "rate"));
      String kind = text(n.path("kind"), at + ".kind");
      if (!Set.of("status", "timeout", "malformed", "cut", "burn").contains(kind)) {
        throw error(at + ".kind", "expected one of status, timeout, malformed, cut, burn, got \"" + kind + "\"");
      }
      int status = n.has("status") ? (int) integer(n.get("status"), at + ".status", 400, 599) : 500;
      Duration duration = duration(n, "duration", at, Duration.ofMinutes(10));
      int afterChunks = n.has("afterChunks") ? (int) integer(n.get("afterChunks"), at + ".afterChunks", 0, 1_000_000) : 2;
      int factor = n.has("factor") ? (int) integer(n.get("factor"), at + ".factor", 1, 10_000) : 10;
      double rate = 1.0;
      if (n.has("rate")) {
        JsonNode r = n.get("rate");
        if (!r.isNumber() || r.asDouble() < 0 || r.asDouble() > 1) {
          throw error(at + ".rate", "expected a probability from 0 to 1, got " + r);
        }
        rate = r.asDouble();
      }
      return new Fault(kind, status, duration, afterChunks, factor, rate);
    }

    private Duration duration(JsonNode n, String field, String at, Duration fallback) {
      if (!n.has(field)) {
        return fallback;
      }
      String text = n.get(field).asText();
      try {
        return Durations.parse(text, fallback);
      } catch (RuntimeException e) {
        throw error(at + "." + field, "expected a duration such as 250ms, 2s or 1m, got \"" + text + "\"");
      }
    }

    private Pattern regex(JsonNode n, String at) {
      String re = text(n, at);
      try {
        return Pattern.compile(re);
      } catch (PatternSyntaxException e) {
        throw error(at, "not a valid regular expression: " + e.getDescription() + " near index " + e.getIndex());
      }
    }

    private String text(JsonNode n, String at) {
      if (!n.isTextual() || n.asText().isEmpty()) {
        throw error(at, "expected a non-empty string");
      }
      return n.asText();
    }

    private long integer(JsonNode n, String at, long min, long max) {
      if (!n.isIntegralNumber() || n.asLong() < min || n.asLong() > max) {
        throw error(at, "expected an integer from " + min + " to " + max + ", got " + n);
      }
      return n.asLong();
    }

    private void known(JsonNode n, String at, Set<String> allowed) {
      if (!(n instanceof ObjectNode o)) {
        throw error(at, "expected a mapping");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
        String k = it.next().getKey();
        if (!allowed.contains(k)) {
          throw error(at + "." + k, "unknown field; expected one of " + String.join(", ", allowed.stream().sorted().toList()));
        }
      }
    }
  }
}
