package dev.flightdeck.rollout.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An analysis as the Rollout spec states it.
 *
 * @param alpha the false-decision rate of the sequential mode: the chance of rolling back a
 *     candidate that is within every limit, and of passing one that is not
 * @param minSamples observations each arm needs before the sequential mode decides anything
 * @param deadline when the evidence is still insufficient after this long, the analysis is
 *     inconclusive; empty means wait for ever
 * @param mode sequential (the default) or threshold (fixed checks at intervals, like Flagger)
 * @param interval threshold mode: how often the metrics are checked, over the last interval
 * @param failureLimit threshold mode: failed checks that fail the analysis (Flagger's threshold)
 * @param count threshold mode: checks after which the analysis passes
 */
public record AnalysisSpec(List<MetricSpec> metrics, double alpha, long minSamples, Optional<Duration> deadline,
    Mode mode, Duration interval, int failureLimit, int count) {

  /** How the analysis decides. */
  public enum Mode {
    SEQUENTIAL,
    THRESHOLD
  }

  /** The default false-decision rate. */
  public static final double DEFAULT_ALPHA = 0.01;
  /** The default minimum sample per arm. */
  public static final long DEFAULT_MIN_SAMPLES = 100;

  /**
   * Reads an analysis object of the Rollout spec; problems go to {@code problems} as
   * {@code path: message}, and with any problem the result is empty.
   */
  public static Optional<AnalysisSpec> parse(JsonNode a, String at, List<String> problems) {
    int before = problems.size();
    List<MetricSpec> metrics = new ArrayList<>();
    int i = 0;
    for (JsonNode m : a.path("metrics")) {
      MetricSpec.parse(m, at + ".metrics[" + i++ + "]", problems).ifPresent(metrics::add);
    }
    if (i == 0) {
      problems.add(at + ".metrics: expected at least one metric");
    }
    double alpha = a.path("alpha").asDouble(DEFAULT_ALPHA);
    if (!(alpha > 0 && alpha <= 0.5)) {
      problems.add(at + ".alpha: expected a number in (0, 0.5], got " + a.path("alpha"));
    }
    Optional<Duration> deadline = duration(a, "deadline", at, problems);
    Mode mode = "threshold".equals(a.path("mode").asText()) ? Mode.THRESHOLD : Mode.SEQUENTIAL;
    Duration interval = duration(a, "interval", at, problems).orElse(Duration.ofMinutes(1));
    if (interval.isZero() || interval.isNegative()) {
      problems.add(at + ".interval: expected a positive duration");
    }
    if (problems.size() != before) {
      return Optional.empty();
    }
    return Optional.of(new AnalysisSpec(List.copyOf(metrics), alpha, Math.max(1, a.path("minSamples").asLong(DEFAULT_MIN_SAMPLES)),
        deadline, mode, interval, Math.max(1, a.path("failureLimit").asInt(5)), Math.max(1, a.path("count").asInt(5))));
  }

  private static Optional<Duration> duration(JsonNode a, String field, String at, List<String> problems) {
    JsonNode d = a.get(field);
    if (d == null || d.isNull()) {
      return Optional.empty();
    }
    try {
      return Optional.of(Durations.parse(d.asText()));
    } catch (IllegalArgumentException e) {
      problems.add(at + "." + field + ": " + e.getMessage());
      return Optional.empty();
    }
  }

  /** Limits over all metrics: the sequential mode splits {@code alpha} evenly over them. */
  public int checks() {
    return metrics.stream().mapToInt(m -> m.limits().size()).sum();
  }

  /** A short description, e.g. {@code errorRate, tokensPerRequest (α 0.01)}. */
  public String summary() {
    return String.join(", ", metrics.stream().map(MetricSpec::name).toList())
        + (mode == Mode.SEQUENTIAL ? " (α " + alpha + ")" : " (threshold, every " + Durations.format(interval) + ")");
  }
}
