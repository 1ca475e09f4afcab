package dev.flightdeck.rollout.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One metric of an analysis and its limits.
 *
 * @param name the name in the spec ({@code errorRate}, or a custom metric's own name)
 * @param type how it is measured and tested
 * @param key the {@link Arm} key its observations are kept under
 * @param quantile for latency quantiles, which one (0.95 for latencyP95); 0 otherwise
 * @param limits at least one
 */
public record MetricSpec(String name, Type type, String key, double quantile, List<Limit> limits) {

  /** How a metric is observed. */
  public enum Type {
    /** A yes/no per request (errors): a proportion, compared with stable. */
    RATE,
    /** A number per request (tokens, cost, custom headers): a mean, compared with stable. */
    MEAN,
    /** A latency quantile, tested through the share of requests above the limit. */
    QUANTILE,
    /** Shadow divergence: a proportion of mirrored requests, with absolute limits only (stable has no shadow). */
    CANARY_RATE
  }

  /** Custom metrics reported by agents in {@code X-Flightdeck-Metric-<Name>} response headers. */
  public static final String HEADER_PREFIX = "X-Flightdeck-Metric-";

  private record BuiltIn(Type type, String key, double quantile, String unit) {}

  private static final Map<String, BuiltIn> BUILT_IN = Map.ofEntries(
      Map.entry("errorRate", new BuiltIn(Type.RATE, Arm.ERRORS, 0, "")),
      Map.entry("latencyP50", new BuiltIn(Type.QUANTILE, "latency", 0.50, " ms")),
      Map.entry("latencyP95", new BuiltIn(Type.QUANTILE, "latency", 0.95, " ms")),
      Map.entry("latencyP99", new BuiltIn(Type.QUANTILE, "latency", 0.99, " ms")),
      Map.entry("tokensPerRequest", new BuiltIn(Type.MEAN, Arm.TOKENS, 0, "")),
      Map.entry("costPerRequest", new BuiltIn(Type.MEAN, Arm.COST, 0, " USD")),
      Map.entry("shadowDivergence", new BuiltIn(Type.CANARY_RATE, Arm.SHADOW_DIVERGENCE, 0, "")),
      // Reported by agents (or, later, by the tool gateway) in response headers.
      Map.entry("toolErrorRate", new BuiltIn(Type.MEAN, "tool-errors", 0, "")),
      Map.entry("policyDenials", new BuiltIn(Type.MEAN, "policy-denials", 0, "")),
      Map.entry("humanOverrides", new BuiltIn(Type.MEAN, "human-overrides", 0, "")));

  /** The built-in metric names. */
  public static List<String> builtIns() {
    return BUILT_IN.keySet().stream().sorted().toList();
  }

  /** Whether the observations are a per-request yes/no with a known scale (variance at most 1/4). */
  boolean indicator() {
    return type == Type.RATE || type == Type.CANARY_RATE;
  }

  /** Whether it is a custom metric from agent headers (built-in header metrics included). */
  boolean custom() {
    return type == Type.MEAN && !key.equals(Arm.TOKENS) && !key.equals(Arm.COST);
  }

  /** The unit limits are written in. */
  public String unit() {
    BuiltIn b = BUILT_IN.get(name);
    return b == null ? "" : b.unit();
  }

  /**
   * Reads a metric of the Rollout spec; every problem is added to {@code problems} as
   * {@code field: message} (the schema has already checked types).
   */
  public static Optional<MetricSpec> parse(JsonNode m, String at, List<String> problems) {
    String name = m.path("name").asText();
    JsonNode header = m.get("header");
    Type type;
    String key;
    double quantile = 0;
    if (header != null) {
      String h = header.asText();
      if (!h.regionMatches(true, 0, HEADER_PREFIX, 0, HEADER_PREFIX.length()) || h.length() == HEADER_PREFIX.length()) {
        problems.add(at + ".header: expected a header named " + HEADER_PREFIX + "<Name>, got \"" + h + "\"");
        return Optional.empty();
      }
      type = Type.MEAN;
      key = h.substring(HEADER_PREFIX.length()).toLowerCase(Locale.ROOT);
    } else {
      BuiltIn b = BUILT_IN.get(name);
      if (b == null) {
        problems.add(at + ".name: unknown metric \"" + name + "\"; expected one of " + String.join(", ", builtIns())
            + ", or a custom metric with a header field");
        return Optional.empty();
      }
      type = b.type();
      key = b.key();
      quantile = b.quantile();
    }
    List<Limit> limits = new ArrayList<>();
    int before = problems.size();
    if (m.has("max")) {
      limits.add(new Limit.Max(m.path("max").asDouble()));
    }
    if (m.has("min")) {
      if (type == Type.QUANTILE) {
        problems.add(at + ".min: a latency quantile takes max, maxIncrease or maxRatio, not min");
      }
      limits.add(new Limit.Min(m.path("min").asDouble()));
    }
    if (m.has("maxIncrease")) {
      limits.add(new Limit.MaxIncrease(m.path("maxIncrease").asDouble()));
    }
    if (m.has("maxRatio")) {
      limits.add(new Limit.MaxRatio(m.path("maxRatio").asDouble()));
    }
    if (limits.isEmpty()) {
      problems.add(at + ": metric " + name + " states no limit; expected at least one of max, min, maxIncrease, maxRatio");
    }
    if (type == Type.CANARY_RATE && limits.stream().anyMatch(Limit::relative)) {
      problems.add(at + ": " + name + " is measured on the candidate only (stable has no shadow); use max");
    }
    return problems.size() == before ? Optional.of(new MetricSpec(name, type, key, quantile, List.copyOf(limits)))
        : Optional.empty();
  }
}
