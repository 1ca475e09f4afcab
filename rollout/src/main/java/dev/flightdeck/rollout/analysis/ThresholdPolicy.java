package dev.flightdeck.rollout.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;

/**
 * The threshold mode's bookkeeping, as Flagger does it: every {@code interval} the metrics of the
 * last interval are checked against the limits; the analysis fails once {@code failureLimit}
 * checks have failed and passes after {@code count} checks otherwise.
 *
 * @param checks checks done
 * @param failures checks that failed
 * @param lastCheckMillis when the last check was done (the analysis's start before the first)
 */
public record ThresholdPolicy(int checks, int failures, long lastCheckMillis) {

  /** A fresh policy for an analysis that starts at {@code startMillis}. */
  public static ThresholdPolicy start(long startMillis) {
    return new ThresholdPolicy(0, 0, startMillis);
  }

  /** Whether a check is due at {@code nowMillis}. */
  public boolean due(AnalysisSpec spec, long nowMillis) {
    return nowMillis - lastCheckMillis >= spec.interval().toMillis();
  }

  /** Records a check's outcome (a WAIT, no data, counts as neither). */
  public ThresholdPolicy record(Analysis.Result check, long nowMillis) {
    return switch (check.verdict()) {
      case FAIL -> new ThresholdPolicy(checks + 1, failures + 1, nowMillis);
      case PASS -> new ThresholdPolicy(checks + 1, failures, nowMillis);
      case WAIT -> new ThresholdPolicy(checks, failures, nowMillis);
    };
  }

  /** The verdict so far. */
  public Verdict verdict(AnalysisSpec spec) {
    if (failures >= spec.failureLimit()) {
      return Verdict.FAIL;
    }
    return checks >= spec.count() ? Verdict.PASS : Verdict.WAIT;
  }

  /** As stored with the rollout's state. */
  public ObjectNode toJson() {
    return Json.object().put("checks", checks).put("failures", failures).put("lastCheckMillis", lastCheckMillis);
  }

  /** Reads {@link #toJson()}'s output. */
  public static ThresholdPolicy fromJson(JsonNode o, long startMillis) {
    return o == null || !o.isObject() ? start(startMillis)
        : new ThresholdPolicy(o.path("checks").asInt(), o.path("failures").asInt(), o.path("lastCheckMillis").asLong(startMillis));
  }
}
