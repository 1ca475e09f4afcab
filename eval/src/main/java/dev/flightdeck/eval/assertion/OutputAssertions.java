package dev.flightdeck.eval.assertion;

import com.fasterxml.jackson.databind.JsonNode;
import com.jayway.jsonpath.JsonPath;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.ValidationMessage;
import dev.flightdeck.eval.pii.PiiDetector;
import dev.flightdeck.eval.pii.PiiKind;
import dev.flightdeck.eval.pii.PiiMatch;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** Assertions on what the agent answered and what the run cost. */
final class OutputAssertions {

  private OutputAssertions() {}

  record Equals(JsonNode value, boolean ignoreCase) implements Assertion {
    @Override
    public String label() {
      return "equals " + Text.brief(value.isTextual() ? value.asText() : value.toString(), 40);
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      boolean ok;
      if (value.isTextual()) {
        String a = run.answer().strip();
        ok = ignoreCase ? a.equalsIgnoreCase(value.asText().strip()) : a.equals(value.asText().strip());
      } else {
        ok = run.answerJson().map(j -> Canonical.json(j).equals(Canonical.json(value))).orElse(false);
      }
      return Check.of(ok, "answer equals the expected value",
          "expected the answer to equal " + Text.brief(value.isTextual() ? value.asText() : value.toString())
              + ", got " + Text.brief(run.answer()));
    }
  }

  record Contains(List<String> values, boolean ignoreCase, boolean any) implements Assertion {
    @Override
    public String label() {
      return "contains " + (values.size() == 1 ? Text.brief(values.get(0), 40)
          : (any ? "any of " : "all of ") + values.stream().map(v -> Text.brief(v, 30)).collect(Collectors.joining(", ")));
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      String a = ignoreCase ? run.answer().toLowerCase(Locale.ROOT) : run.answer();
      List<String> missing = values.stream()
          .filter(v -> !a.contains(ignoreCase ? v.toLowerCase(Locale.ROOT) : v)).toList();
      boolean ok = any ? missing.size() < values.size() : missing.isEmpty();
      return Check.of(ok, "answer contains " + (any ? "one of " : "") + "the expected text",
          "expected the answer to contain " + (any ? "any of " : "")
              + missing.stream().map(v -> Text.brief(v, 40)).collect(Collectors.joining(", "))
              + ", got " + Text.brief(run.answer()));
    }
  }

  record Regex(Pattern pattern) implements Assertion {
    @Override
    public String label() {
      return "regex " + Text.brief(pattern.pattern(), 40);
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      return Check.of(pattern.matcher(run.answer()).find(), "answer matches /" + pattern.pattern() + "/",
          "expected a match for /" + pattern.pattern() + "/ in the answer, got " + Text.brief(run.answer()));
    }
  }

  /** The document a JSON assertion reads: the answer parsed as JSON, or the whole response body. */
  static Optional<JsonNode> document(RunOutput run, boolean ofAnswer) {
    return ofAnswer ? run.answerJson() : run.json();
  }

  static String where(boolean ofAnswer) {
    return ofAnswer ? "the answer" : "the response";
  }

  record JsonPathCheck(String text, JsonPath path, boolean ofAnswer, Optional<JsonNode> equals,
      Optional<Pattern> matches, boolean exists) implements Assertion {
    @Override
    public String label() {
      return "json-path " + text + equals.map(v -> " == " + Text.brief(v.toString(), 30)).orElse("")
          + matches.map(p -> " =~ /" + p.pattern() + "/").orElse("");
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      Optional<JsonNode> doc = document(run, ofAnswer);
      if (doc.isEmpty()) {
        return Check.fail("expected " + where(ofAnswer) + " to be JSON, got " + Text.brief(ofAnswer ? run.answer() : run.body()));
      }
      Optional<JsonNode> found = JsonPaths.read(doc.get(), path);
      if (equals.isEmpty() && matches.isEmpty()) {
        return Check.of(found.isPresent() == exists, text + (exists ? " exists" : " is absent"),
            "expected " + text + (exists ? " to exist" : " to be absent") + " in " + where(ofAnswer)
                + (found.map(v -> ", got " + Text.brief(v.toString())).orElse("")));
      }
      if (found.isEmpty()) {
        return Check.fail("expected a value at " + text + " in " + where(ofAnswer) + ", found none");
      }
      JsonNode v = found.get();
      if (equals.isPresent()) {
        JsonNode want = equals.get();
        boolean ok = Canonical.json(v).equals(Canonical.json(want))
            || (want.isTextual() && v.isValueNode() && v.asText().equals(want.asText()));
        return Check.of(ok, text + " equals the expected value",
            "expected " + text + " to equal " + Text.brief(want.toString()) + ", got " + Text.brief(v.toString()));
      }
      String s = v.isTextual() ? v.asText() : v.toString();
      return Check.of(matches.get().matcher(s).find(), text + " matches",
          "expected " + text + " to match /" + matches.get().pattern() + "/, got " + Text.brief(s));
    }
  }

  record SchemaCheck(JsonSchema schema, boolean ofAnswer) implements Assertion {
    @Override
    public String label() {
      return "json-schema";
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      Optional<JsonNode> doc = document(run, ofAnswer);
      if (doc.isEmpty()) {
        return Check.fail("expected " + where(ofAnswer) + " to be JSON, got " + Text.brief(ofAnswer ? run.answer() : run.body()));
      }
      Set<ValidationMessage> errors = schema.validate(doc.get());
      return Check.of(errors.isEmpty(), where(ofAnswer) + " is valid against the schema",
          "expected " + where(ofAnswer) + " to match the schema: " + errors.stream().limit(3)
              .map(ValidationMessage::getMessage).collect(Collectors.joining("; ")));
    }
  }

  record Range(String text, JsonPath path, boolean ofAnswer, OptionalDouble min, OptionalDouble max) implements Assertion {
    @Override
    public String label() {
      return "range " + text + " in [" + (min.isPresent() ? min.getAsDouble() : "-∞") + ", "
          + (max.isPresent() ? max.getAsDouble() : "∞") + "]";
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      Optional<JsonNode> v = document(run, ofAnswer).flatMap(d -> JsonPaths.read(d, path));
      if (v.isEmpty() || !(v.get().isNumber() || v.get().isTextual() && isNumber(v.get().asText()))) {
        return Check.fail("expected a number at " + text + " in " + where(ofAnswer) + ", got "
            + v.map(n -> Text.brief(n.toString())).orElse("nothing"));
      }
      double d = v.get().isNumber() ? v.get().doubleValue() : Double.parseDouble(v.get().asText().strip());
      boolean ok = (min.isEmpty() || d >= min.getAsDouble()) && (max.isEmpty() || d <= max.getAsDouble());
      return Check.of(ok, text + " = " + d + " is in range", "expected " + label().substring(6) + ", got " + d);
    }

    private static boolean isNumber(String s) {
      try {
        Double.parseDouble(s.strip());
        return true;
      } catch (NumberFormatException e) {
        return false;
      }
    }
  }

  record Latency(Duration max) implements Assertion {
    @Override
    public String label() {
      return "latency <= " + max.toMillis() + "ms";
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      return Check.of(run.latency().compareTo(max) <= 0, "took " + run.latency().toMillis() + "ms",
          "expected at most " + max.toMillis() + "ms, took " + run.latency().toMillis() + "ms");
    }
  }

  record Tokens(long max) implements Assertion {
    @Override
    public String label() {
      return "tokens <= " + max;
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      if (run.tokens().isEmpty()) {
        return Check.unmeasured("the response reports no token usage (set spec.extract.tokens)");
      }
      long t = run.tokens().getAsLong();
      return Check.of(t <= max, "used " + t + " tokens", "expected at most " + max + " tokens, used " + t);
    }
  }

  record Cost(double max) implements Assertion {
    @Override
    public String label() {
      return "cost <= " + max;
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      if (run.cost().isEmpty()) {
        return Check.unmeasured("the response reports no cost (set spec.extract.cost)");
      }
      double c = run.cost().getAsDouble();
      return Check.of(c <= max, "cost " + c, "expected a cost of at most " + max + ", got " + c);
    }
  }

  record Semantic(String reference, double minSimilarity) implements Assertion {
    @Override
    public String label() {
      return "semantic ~ " + Text.brief(reference, 40) + " >= " + minSimilarity;
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      double s = context.similarity().applyAsDouble(run.answer(), reference);
      String shown = String.format(Locale.ROOT, "%.3f", s);
      return Check.of(s >= minSimilarity, "similarity " + shown,
          "expected a similarity of at least " + minSimilarity + " to " + Text.brief(reference, 40) + ", got " + shown);
    }
  }

  record Pii(Set<PiiKind> kinds, PiiDetector detector) implements Assertion {
    @Override
    public String label() {
      return "no pii" + (kinds.size() == PiiKind.values().length ? ""
          : " (" + kinds.stream().map(PiiKind::id).collect(Collectors.joining(", ")) + ")");
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      List<PiiMatch> found = detector.find(run.answer(), kinds);
      // Never repeat the personal data in the message: kinds and offsets only.
      return Check.of(found.isEmpty(), "no personal data found", "expected no personal data, found "
          + found.stream().limit(5).map(m -> m.kind().id() + " at " + m.start()).collect(Collectors.joining(", "))
          + (found.size() > 5 ? " and " + (found.size() - 5) + " more" : ""));
    }
  }
}
