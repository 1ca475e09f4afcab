package dev.flightdeck.eval.assertion;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Assertions over the tool calls a run made. Matching follows agentevals (LangChain): trajectory
 * modes strict, unordered, subset (the agent called only reference calls) and superset (it made
 * at least the reference calls); argument modes exact, ignore, subset (the call's arguments are a
 * subset of the reference's) and superset, with per-field overrides. Unlike agentevals' greedy
 * pairing, unordered/subset/superset use a maximum bipartite matching, so a loose reference call
 * never steals the only partner of a strict one.
 */
final class TrajectoryAssertions {

  private TrajectoryAssertions() {}

  /** An assertion that reads the trajectory. */
  interface OnTrajectory extends Assertion {
    @Override
    default boolean trajectory() {
      return true;
    }
  }

  /** How arguments are compared. */
  enum ArgsMatch { EXACT, IGNORE, SUBSET, SUPERSET }

  /** How one argument field is compared, overriding the mode. */
  enum FieldMatch { EXACT, IGNORE, CONTAINS, REGEX }

  /** How the sequence of calls is compared. */
  enum Mode { STRICT, UNORDERED, SUBSET, SUPERSET }

  /** Compares a call's arguments with a reference's. */
  record ArgsMatcher(ArgsMatch mode, Map<String, FieldMatch> fields) {

    boolean matches(JsonNode actual, JsonNode reference) {
      for (Map.Entry<String, FieldMatch> f : fields.entrySet()) {
        JsonNode a = actual.path(f.getKey());
        JsonNode r = reference.path(f.getKey());
        boolean ok = switch (f.getValue()) {
          case IGNORE -> true;
          case EXACT -> Canonical.json(a).equals(Canonical.json(r));
          case CONTAINS -> !a.isMissingNode() && text(a).contains(text(r));
          case REGEX -> !a.isMissingNode() && !r.isMissingNode() && Pattern.compile(r.asText()).matcher(text(a)).find();
        };
        if (!ok) {
          return false;
        }
      }
      JsonNode a = without(actual, fields);
      JsonNode r = without(reference, fields);
      return switch (mode) {
        case IGNORE -> true;
        case EXACT -> Canonical.json(a).equals(Canonical.json(r));
        case SUBSET -> within(a, r);
        case SUPERSET -> within(r, a);
      };
    }

    private static String text(JsonNode n) {
      return n.isTextual() ? n.asText() : n.toString();
    }

    /** Every field of {@code small} is in {@code big} with an equal value. */
    private static boolean within(JsonNode small, JsonNode big) {
      for (Iterator<Map.Entry<String, JsonNode>> it = small.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!big.has(e.getKey()) || !Canonical.json(e.getValue()).equals(Canonical.json(big.get(e.getKey())))) {
          return false;
        }
      }
      return true;
    }

    private static JsonNode without(JsonNode args, Map<String, FieldMatch> fields) {
      if (fields.isEmpty() || !args.isObject()) {
        return args;
      }
      ObjectNode copy = ((ObjectNode) args).deepCopy();
      copy.remove(fields.keySet());
      return copy;
    }
  }

  private static String calls(List<ToolCall> calls) {
    if (calls.isEmpty()) {
      return "no tool calls";
    }
    String s = calls.stream().limit(8).map(ToolCall::name).collect(Collectors.joining(" → "));
    return calls.size() > 8 ? s + " … (" + calls.size() + " calls)" : s;
  }

  record ToolCalled(String tool, Optional<JsonNode> args, ArgsMatcher matcher, int min, OptionalInt max)
      implements OnTrajectory {
    @Override
    public String label() {
      return "tool-called " + tool + args.map(a -> Canonical.json(a)).orElse("")
          + (min != 1 ? " min " + min : "") + (max.isPresent() ? " max " + max.getAsInt() : "");
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      long n = run.trajectory().stream()
          .filter(c -> c.name().equals(tool) && args.map(a -> matcher.matches(c.args(), a)).orElse(true))
          .count();
      boolean ok = n >= min && (max.isEmpty() || n <= max.getAsInt());
      String want = max.isEmpty() ? "at least " + min : min == max.getAsInt() ? "exactly " + min
          : min + " to " + max.getAsInt();
      return Check.of(ok, tool + " called " + n + " time(s)", "expected " + tool
          + args.map(a -> " with " + Canonical.json(a)).orElse("") + " to be called " + want
          + " time(s), got " + n + " (" + calls(run.trajectory()) + ")");
    }
  }

  record ToolNotCalled(String tool) implements OnTrajectory {
    @Override
    public String label() {
      return "tool-not-called " + tool;
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      long n = run.trajectory().stream().filter(c -> c.name().equals(tool)).count();
      return Check.of(n == 0, tool + " not called", "expected " + tool + " not to be called, got " + n
          + " call(s) (" + calls(run.trajectory()) + ")");
    }
  }

  record Trajectory(List<ToolCall> reference, Mode mode, ArgsMatcher matcher) implements OnTrajectory {
    @Override
    public String label() {
      return "trajectory " + mode.name().toLowerCase(java.util.Locale.ROOT) + " [" + calls(reference) + "]";
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      List<ToolCall> actual = run.trajectory();
      boolean ok = switch (mode) {
        case STRICT -> strict(actual);
        case UNORDERED -> actual.size() == reference.size() && matching(actual) == reference.size();
        case SUBSET -> matching(actual) == actual.size();
        case SUPERSET -> matching(actual) == reference.size();
      };
      String expected = switch (mode) {
        case STRICT -> "exactly these calls in this order";
        case UNORDERED -> "exactly these calls in any order";
        case SUBSET -> "no calls other than these";
        case SUPERSET -> "at least these calls";
      };
      return Check.of(ok, "trajectory matches (" + calls(actual) + ")", "expected " + expected + ": "
          + calls(reference) + "; got " + calls(actual));
    }

    private boolean strict(List<ToolCall> actual) {
      if (actual.size() != reference.size()) {
        return false;
      }
      for (int i = 0; i < actual.size(); i++) {
        if (!pairs(actual.get(i), reference.get(i))) {
          return false;
        }
      }
      return true;
    }

    private boolean pairs(ToolCall actual, ToolCall ref) {
      return actual.name().equals(ref.name()) && matcher.matches(actual.args(), ref.args());
    }

    /** Size of a maximum matching between actual and reference calls (Kuhn's augmenting paths). */
    private int matching(List<ToolCall> actual) {
      int[] refOwner = new int[reference.size()];
      java.util.Arrays.fill(refOwner, -1);
      int size = 0;
      for (int a = 0; a < actual.size(); a++) {
        if (augment(a, actual, refOwner, new boolean[reference.size()])) {
          size++;
        }
      }
      return size;
    }

    private boolean augment(int a, List<ToolCall> actual, int[] refOwner, boolean[] seen) {
      for (int r = 0; r < reference.size(); r++) {
        if (!seen[r] && pairs(actual.get(a), reference.get(r))) {
          seen[r] = true;
          if (refOwner[r] < 0 || augment(refOwner[r], actual, refOwner, seen)) {
            refOwner[r] = a;
            return true;
          }
        }
      }
      return false;
    }
  }

  record Recovered(Optional<String> tool, boolean sameTool) implements OnTrajectory {
    @Override
    public String label() {
      return "tool-recovered" + tool.map(t -> " " + t).orElse("");
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      List<ToolCall> calls = run.trajectory();
      int errors = 0;
      for (int i = 0; i < calls.size(); i++) {
        ToolCall c = calls.get(i);
        if (!c.error() || tool.isPresent() && !tool.get().equals(c.name())) {
          continue;
        }
        errors++;
        boolean recovered = false;
        for (int j = i + 1; j < calls.size() && !recovered; j++) {
          recovered = !calls.get(j).error() && (!sameTool || calls.get(j).name().equals(c.name()));
        }
        if (!recovered) {
          return Check.fail("expected a successful " + (sameTool ? c.name() + " " : "") + "call after the failed "
              + c.name() + " call #" + (i + 1) + ", got none (" + calls(calls) + ")");
        }
      }
      return Check.pass(errors == 0 ? "no tool errors to recover from" : "recovered from " + errors + " tool error(s)");
    }
  }

  record MaxSteps(int max) implements OnTrajectory {
    @Override
    public String label() {
      return "max-steps " + max;
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      int n = run.trajectory().size();
      return Check.of(n <= max, n + " step(s)", "expected at most " + max + " tool calls, got " + n);
    }
  }

  record NoLoop(int max) implements OnTrajectory {
    @Override
    public String label() {
      return "no-loop " + max;
    }

    @Override
    public Check check(RunOutput run, AssertionContext context) {
      Map<String, Integer> counts = new HashMap<>();
      String worst = "";
      int most = 0;
      for (ToolCall c : run.trajectory()) {
        int n = counts.merge(c.signature(), 1, Integer::sum);
        if (n > most) {
          most = n;
          worst = c.signature();
        }
      }
      return Check.of(most <= max, "no call repeated more than " + max + " times",
          "expected no identical call more than " + max + " times, got " + most + " × " + Text.brief(worst, 60));
    }
  }
}
