package dev.flightdeck.eval.assertion;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import dev.flightdeck.api.parse.Diagnostic;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.api.parse.SourceMap;
import dev.flightdeck.api.parse.Suggestions;
import dev.flightdeck.api.resource.Durations;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.eval.assertion.TrajectoryAssertions.ArgsMatch;
import dev.flightdeck.eval.assertion.TrajectoryAssertions.ArgsMatcher;
import dev.flightdeck.eval.assertion.TrajectoryAssertions.FieldMatch;
import dev.flightdeck.eval.pii.PiiDetector;
import dev.flightdeck.eval.pii.PiiKind;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Compiles an assertion from a suite file into an {@link Assertion}, reporting every mistake with
 * its position. The fields each type accepts come from the EvalSuite JSON Schema, so the schema
 * editors see and this compiler agree (case files, which the schema does not cover, get the same
 * checks here).
 */
public final class Assertions {

  /** What compiling needs besides the assertion itself. */
  public record Inputs(String question, boolean judgeConfigured, PiiDetector pii) {}

  private record TypeShape(Set<String> fields, List<String> required) {}

  private static final Map<String, TypeShape> SHAPES = shapes();

  private Assertions() {}

  /** The assertion types, in the schema's order. */
  public static Set<String> types() {
    return SHAPES.keySet();
  }

  /** Compiles one assertion at {@code path}; problems go to {@code out} and yield empty. */
  public static Optional<Assertion> compile(JsonNode node, String path, SourceMap map, Inputs inputs,
      Consumer<Diagnostic> out) {
    if (!node.isObject()) {
      out.accept(map.at(path, "expected an assertion (a mapping with a type), got " + Json.write(node)));
      return Optional.empty();
    }
    String type = node.path("type").asText("");
    TypeShape shape = SHAPES.get(type);
    if (shape == null) {
      String hint = Suggestions.closest(type, SHAPES.keySet()).map(s -> "did you mean \"" + s + "\"? ").orElse("");
      out.accept(map.at(SourceMap.field(path, "type"), (type.isEmpty() ? "required field is missing; "
          : "unknown assertion type \"" + type + "\"; ") + hint + "expected one of " + String.join(", ", SHAPES.keySet())));
      return Optional.empty();
    }
    List<Diagnostic> problems = new ArrayList<>();
    Consumer<Diagnostic> sink = problems::add;
    node.fieldNames().forEachRemaining(f -> {
      if (!shape.fields().contains(f)) {
        String hint = Suggestions.closest(f, shape.fields()).map(s -> "did you mean \"" + s + "\"? ").orElse("");
        sink.accept(map.atKey(SourceMap.field(path, f), "unknown field for " + type + "; " + hint
            + "expected one of " + String.join(", ", shape.fields())));
      }
    });
    for (String r : shape.required()) {
      if (!node.has(r)) {
        sink.accept(map.at(SourceMap.field(path, r), "required field for " + type + " is missing"));
      }
    }
    Optional<Assertion> a = problems.isEmpty() ? build(type, node, path, map, inputs, sink) : Optional.empty();
    problems.forEach(out);
    if (!problems.isEmpty() || a.isEmpty()) {
      return Optional.empty();
    }
    return node.path("not").asBoolean(false) ? Optional.of(Assertion.not(a.get())) : a;
  }

  private static Optional<Assertion> build(String type, JsonNode n, String path, SourceMap map, Inputs in,
      Consumer<Diagnostic> out) {
    Field f = new Field(n, path, map, out);
    boolean ignoreCase = n.path("ignoreCase").asBoolean(false);
    boolean ofAnswer = n.path("of").asText(type.equals("json-schema") ? "answer" : "response").equals("answer");
    Assertion a = switch (type) {
      case "equals" -> new OutputAssertions.Equals(n.get("value"), ignoreCase);
      case "contains" -> {
        List<String> values = f.strings("value");
        yield values.isEmpty() ? null : new OutputAssertions.Contains(values, ignoreCase, n.path("any").asBoolean(false));
      }
      case "regex" -> f.regex("value", ignoreCase).map(OutputAssertions.Regex::new).orElse(null);
      case "json-path" -> {
        var p = f.jsonPath("path");
        var matches = n.has("matches") ? f.regex("matches", false) : Optional.<Pattern>empty();
        yield p.isEmpty() || n.has("matches") && matches.isEmpty() ? null
            : new OutputAssertions.JsonPathCheck(n.get("path").asText(), p.get(), ofAnswer,
                Optional.ofNullable(n.get("equals")), matches, n.path("exists").asBoolean(true));
      }
      case "json-schema" -> {
        try {
          var schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(n.get("schema"));
          schema.initializeValidators();
          yield new OutputAssertions.SchemaCheck(schema, ofAnswer);
        } catch (RuntimeException e) {
          out.accept(map.at(SourceMap.field(path, "schema"), "expected a valid JSON Schema: " + e.getMessage()));
          yield null;
        }
      }
      case "range" -> {
        var p = f.jsonPath("path");
        OptionalDouble min = n.has("min") ? OptionalDouble.of(n.get("min").doubleValue()) : OptionalDouble.empty();
        OptionalDouble max = n.has("max") ? OptionalDouble.of(n.get("max").doubleValue()) : OptionalDouble.empty();
        if (min.isEmpty() && max.isEmpty()) {
          out.accept(map.at(path, "expected min, max or both"));
          yield null;
        }
        if (min.isPresent() && max.isPresent() && min.getAsDouble() > max.getAsDouble()) {
          out.accept(map.at(SourceMap.field(path, "min"), "expected min <= max, got " + min.getAsDouble()
              + " > " + max.getAsDouble()));
          yield null;
        }
        yield p.map(jp -> (Assertion) new OutputAssertions.Range(n.get("path").asText(), jp, ofAnswer, min, max))
            .orElse(null);
      }
      case "latency" -> f.duration("max").map(OutputAssertions.Latency::new).orElse(null);
      case "tokens" -> new OutputAssertions.Tokens(n.get("max").asLong());
      case "cost" -> new OutputAssertions.Cost(n.get("max").doubleValue());
      case "semantic" -> new OutputAssertions.Semantic(n.get("reference").asText(),
          n.path("minSimilarity").asDouble(0.8));
      case "pii" -> {
        Set<PiiKind> kinds = EnumSet.noneOf(PiiKind.class);
        JsonNode ks = n.path("kinds");
        if (ks.isMissingNode()) {
          kinds.addAll(EnumSet.allOf(PiiKind.class));
        }
        for (int i = 0; i < ks.size(); i++) {
          String id = ks.path(i).asText("");
          Optional<PiiKind> k = PiiKind.fromId(id);
          if (k.isEmpty()) {
            out.accept(map.at(SourceMap.index(SourceMap.field(path, "kinds"), i), "expected one of email, phone, "
                + "card, iban, ssn, api-key, got \"" + id + "\""));
          }
          k.ifPresent(kinds::add);
        }
        PiiDetector d = n.has("phoneRegion") ? PiiDetector.withPhoneRegion(n.get("phoneRegion").asText()) : in.pii();
        yield kinds.isEmpty() ? null : new OutputAssertions.Pii(kinds, d);
      }
      case "tool-called" -> {
        var m = f.argsMatcher("argsMatch", ArgsMatch.SUPERSET);
        int min = n.path("min").asInt(1);
        OptionalInt max = n.has("max") ? OptionalInt.of(n.get("max").asInt()) : OptionalInt.empty();
        if (max.isPresent() && max.getAsInt() < min) {
          if (!n.has("min")) {
            min = 0;
          } else {
            out.accept(map.at(SourceMap.field(path, "max"), "expected max >= min (" + min + "), got " + max.getAsInt()));
            yield null;
          }
        }
        yield new TrajectoryAssertions.ToolCalled(n.get("tool").asText(), Optional.ofNullable(n.get("args")), m, min, max);
      }
      case "tool-not-called" -> new TrajectoryAssertions.ToolNotCalled(n.get("tool").asText());
      case "trajectory" -> {
        JsonNode ref = n.get("reference");
        List<ToolCall> calls = new ArrayList<>();
        for (int i = 0; i < ref.size(); i++) {
          JsonNode c = ref.path(i);
          if (!c.path("tool").isTextual()) {
            out.accept(map.at(SourceMap.index(SourceMap.field(path, "reference"), i),
                "expected a call {tool: NAME, args: {...}}, got " + Json.write(c)));
            continue;
          }
          calls.add(new ToolCall(c.get("tool").asText(), c.path("args").isObject() ? c.get("args") : Json.object(), false));
        }
        Map<String, FieldMatch> fields = new LinkedHashMap<>();
        n.path("fields").fields().forEachRemaining(e -> {
          try {
            fields.put(e.getKey(), FieldMatch.valueOf(e.getValue().asText("").toUpperCase(Locale.ROOT)));
          } catch (IllegalArgumentException x) {
            out.accept(map.at(SourceMap.field(SourceMap.field(path, "fields"), e.getKey()),
                "expected exact, ignore, contains or regex, got " + Json.write(e.getValue())));
          }
        });
        var mode = f.enumValue("mode", TrajectoryAssertions.Mode.class, TrajectoryAssertions.Mode.STRICT);
        var args = f.enumValue("argsMatch", ArgsMatch.class, ArgsMatch.EXACT);
        yield mode.isEmpty() || args.isEmpty() || calls.size() != ref.size() ? null
            : new TrajectoryAssertions.Trajectory(calls, mode.get(), new ArgsMatcher(args.get(), fields));
      }
      case "tool-recovered" -> new TrajectoryAssertions.Recovered(Optional.ofNullable(n.get("tool")).map(JsonNode::asText),
          n.path("sameTool").asBoolean(true));
      case "max-steps" -> new TrajectoryAssertions.MaxSteps(n.get("max").asInt());
      case "no-loop" -> new TrajectoryAssertions.NoLoop(n.path("max").asInt(2));
      case "judge" -> {
        var rubric = f.enumValue("rubric", Judge.Rubric.class, Judge.Rubric.CUSTOM);
        if (rubric.isEmpty()) {
          yield null;
        }
        if (!in.judgeConfigured()) {
          out.accept(map.at(SourceMap.field(path, "type"), "a judge assertion needs spec.judge (baseUrl and a pinned model)"));
          yield null;
        }
        if (rubric.get() == Judge.Rubric.CUSTOM && !n.has("criteria")) {
          out.accept(map.at(SourceMap.field(path, "criteria"), "required for rubric custom: what the judge scores"));
          yield null;
        }
        if (rubric.get() == Judge.Rubric.FAITHFULNESS && !n.has("context")) {
          out.accept(map.at(SourceMap.field(path, "context"), "required for rubric faithfulness: the facts the answer must stick to"));
          yield null;
        }
        yield new Judge.Assert(rubric.get(), n.path("criteria").asText(""), n.path("question").asText(in.question()),
            Optional.ofNullable(n.get("context")).map(JsonNode::asText), n.path("minScore").asDouble(0.7));
      }
      default -> throw new IllegalStateException("no compiler for assertion type " + type);
    };
    return Optional.ofNullable(a);
  }

  /** Reads typed fields of one assertion, reporting mistakes at their position. */
  private record Field(JsonNode node, String path, SourceMap map, Consumer<Diagnostic> out) {

    String at(String f) {
      return SourceMap.field(path, f);
    }

    List<String> strings(String f) {
      JsonNode v = node.get(f);
      if (v.isTextual()) {
        return List.of(v.asText());
      }
      List<String> out = new ArrayList<>();
      if (v.isArray() && !v.isEmpty()) {
        for (JsonNode e : v) {
          if (!e.isTextual()) {
            out(f, "expected a string or a list of strings, got " + Json.write(v));
            return List.of();
          }
          out.add(e.asText());
        }
        return out;
      }
      out(f, "expected a string or a non-empty list of strings, got " + Json.write(v));
      return List.of();
    }

    Optional<Pattern> regex(String f, boolean ignoreCase) {
      String s = node.get(f).asText("");
      try {
        return Optional.of(Pattern.compile(s, ignoreCase ? Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE : 0));
      } catch (PatternSyntaxException e) {
        out(f, "expected a regular expression (Java syntax): " + e.getDescription() + " near index " + e.getIndex());
        return Optional.empty();
      }
    }

    Optional<com.jayway.jsonpath.JsonPath> jsonPath(String f) {
      try {
        return Optional.of(JsonPaths.compile(node.get(f).asText("")));
      } catch (IllegalArgumentException e) {
        out(f, "expected a JSON path such as $.answer or $.items[0].name: " + e.getMessage());
        return Optional.empty();
      }
    }

    Optional<java.time.Duration> duration(String f) {
      try {
        return Optional.of(Durations.parse(node.get(f).asText("")));
      } catch (RuntimeException e) {
        out(f, "expected a duration such as 500ms or 2s, got " + Json.write(node.get(f)));
        return Optional.empty();
      }
    }

    <E extends Enum<E>> Optional<E> enumValue(String f, Class<E> type, E fallback) {
      if (!node.has(f)) {
        return Optional.of(fallback);
      }
      String s = node.get(f).asText("");
      for (E e : type.getEnumConstants()) {
        if (e.name().equalsIgnoreCase(s)) {
          return Optional.of(e);
        }
      }
      List<String> names = new ArrayList<>();
      for (E e : type.getEnumConstants()) {
        names.add(e.name().toLowerCase(Locale.ROOT));
      }
      out(f, "expected one of " + String.join(", ", names) + ", got " + Json.write(node.get(f)));
      return Optional.empty();
    }

    ArgsMatcher argsMatcher(String f, ArgsMatch fallback) {
      return new ArgsMatcher(enumValue(f, ArgsMatch.class, fallback).orElse(fallback), Map.of());
    }

    void out(String f, String message) {
      out.accept(map.at(at(f), message));
    }
  }

  private static Map<String, TypeShape> shapes() {
    JsonNode schema = Json.read(ResourceReader.schemaText("evalsuite.schema.json"));
    Map<String, TypeShape> out = new LinkedHashMap<>();
    for (JsonNode branch : schema.path("$defs").path("assertion").path("allOf")) {
      String type = branch.path("if").path("properties").path("type").path("const").asText();
      Set<String> fields = new LinkedHashSet<>();
      branch.path("then").path("properties").fieldNames().forEachRemaining(fields::add);
      List<String> required = new ArrayList<>();
      branch.path("then").path("required").forEach(r -> required.add(r.asText()));
      out.put(type, new TypeShape(fields, List.copyOf(required)));
    }
    if (out.isEmpty()) {
      throw new IllegalStateException("the EvalSuite schema defines no assertion types");
    }
    return out;
  }
}
