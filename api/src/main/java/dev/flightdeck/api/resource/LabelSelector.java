package dev.flightdeck.api.resource;

import dev.flightdeck.api.FlightdeckException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Kubernetes-style label selector: comma-separated requirements, all of which must hold.
 * {@code team=support,tier!=canary,env in (prod,staging),!experimental,owner}.
 */
public final class LabelSelector {

  /** One requirement on one label key. */
  public sealed interface Requirement permits Equals, NotEquals, In, NotIn, Exists, NotExists {
    /** Whether the labels satisfy this requirement. */
    boolean matches(Map<String, String> labels);
  }

  /** {@code key=value}. */
  public record Equals(String key, String value) implements Requirement {
    @Override public boolean matches(Map<String, String> labels) {
      return value.equals(labels.get(key));
    }
  }

  /** {@code key!=value} (also true when the label is absent). */
  public record NotEquals(String key, String value) implements Requirement {
    @Override public boolean matches(Map<String, String> labels) {
      return !value.equals(labels.get(key));
    }
  }

  /** {@code key in (a,b)}. */
  public record In(String key, Set<String> values) implements Requirement {
    @Override public boolean matches(Map<String, String> labels) {
      return labels.containsKey(key) && values.contains(labels.get(key));
    }
  }

  /** {@code key notin (a,b)} (also true when the label is absent). */
  public record NotIn(String key, Set<String> values) implements Requirement {
    @Override public boolean matches(Map<String, String> labels) {
      return !labels.containsKey(key) || !values.contains(labels.get(key));
    }
  }

  /** {@code key}: the label is present. */
  public record Exists(String key) implements Requirement {
    @Override public boolean matches(Map<String, String> labels) {
      return labels.containsKey(key);
    }
  }

  /** {@code !key}: the label is absent. */
  public record NotExists(String key) implements Requirement {
    @Override public boolean matches(Map<String, String> labels) {
      return !labels.containsKey(key);
    }
  }

  private static final String KEY = "[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?";
  private static final String VALUE = "([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?";
  private static final Pattern SET = Pattern.compile(
      "\\s*(" + KEY + ")\\s+(in|notin)\\s*\\(([^)]*)\\)\\s*");
  private static final Pattern BINARY = Pattern.compile(
      "\\s*(" + KEY + ")\\s*(==|=|!=)\\s*(" + VALUE + ")\\s*");
  private static final Pattern UNARY = Pattern.compile("\\s*(!?)\\s*(" + KEY + ")\\s*");
  private static final Pattern VALUE_ONLY = Pattern.compile(VALUE);

  private static final LabelSelector EVERYTHING = new LabelSelector(List.of());

  private final List<Requirement> requirements;

  private LabelSelector(List<Requirement> requirements) {
    this.requirements = List.copyOf(requirements);
  }

  /** The selector that matches every resource. */
  public static LabelSelector everything() {
    return EVERYTHING;
  }

  /**
   * Parses a selector; an empty string selects everything.
   *
   * @throws FlightdeckException naming the requirement that could not be read
   */
  public static LabelSelector parse(String text) {
    if (text.isBlank()) {
      return EVERYTHING;
    }
    List<Requirement> out = new ArrayList<>();
    for (String part : splitTopLevel(text)) {
      out.add(parseRequirement(part, text));
    }
    return new LabelSelector(out);
  }

  /** Whether the labels satisfy every requirement. */
  public boolean matches(Map<String, String> labels) {
    for (Requirement r : requirements) {
      if (!r.matches(labels)) {
        return false;
      }
    }
    return true;
  }

  /** The requirements, in the order written. */
  public List<Requirement> requirements() {
    return requirements;
  }

  private static Requirement parseRequirement(String part, String whole) {
    Matcher m = SET.matcher(part);
    if (m.matches()) {
      Set<String> values = new java.util.LinkedHashSet<>();
      for (String v : m.group(4).split(",")) {
        String t = v.strip();
        if (!VALUE_ONLY.matcher(t).matches()) {
          throw bad(part, whole, "value \"" + t + "\" is not a valid label value");
        }
        values.add(t);
      }
      return m.group(3).equals("in") ? new In(m.group(1), values) : new NotIn(m.group(1), values);
    }
    m = BINARY.matcher(part);
    if (m.matches()) {
      return m.group(3).equals("!=") ? new NotEquals(m.group(1), m.group(4))
          : new Equals(m.group(1), m.group(4));
    }
    m = UNARY.matcher(part);
    if (m.matches()) {
      return m.group(1).isEmpty() ? new Exists(m.group(2)) : new NotExists(m.group(2));
    }
    throw bad(part, whole, "expected key, !key, key=value, key!=value, key in (a,b) or key notin (a,b)");
  }

  private static FlightdeckException bad(String part, String whole, String why) {
    return new FlightdeckException("label selector \"" + whole + "\": cannot read \""
        + part.strip() + "\": " + why);
  }

  /** Splits on commas that are not inside parentheses. */
  private static List<String> splitTopLevel(String text) {
    List<String> parts = new ArrayList<>();
    int depth = 0;
    int start = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      } else if (c == ',' && depth == 0) {
        parts.add(text.substring(start, i));
        start = i + 1;
      }
    }
    parts.add(text.substring(start));
    return parts;
  }

  @Override
  public String toString() {
    return requirements.toString();
  }
}
