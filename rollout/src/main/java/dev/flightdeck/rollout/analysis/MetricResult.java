package dev.flightdeck.rollout.analysis;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;

/**
 * The evidence on one limit of one metric.
 *
 * @param metric the metric's name
 * @param limit the limit as people read it
 * @param verdict this limit's verdict
 * @param canaryN the candidate's observations
 * @param canaryEstimate the candidate's value (a mean, a rate, or a quantile in ms)
 * @param stableN the stable version's observations, -1 for absolute limits
 * @param stableEstimate the stable version's value, NaN for absolute limits
 * @param low lower end of the interval on the excess over the limit (NaN when not computed)
 * @param high upper end of it: the limit fails when {@code low > 0} and passes when {@code high <= 0}
 * @param reason why, in words
 */
public record MetricResult(String metric, String limit, Verdict verdict, long canaryN, double canaryEstimate,
    long stableN, double stableEstimate, double low, double high, String reason) {

  /** The evidence as JSON (stored with decisions, shown by the API and CLI). */
  public ObjectNode toJson() {
    ObjectNode o = Json.object().put("metric", metric).put("limit", limit).put("verdict", verdict.id());
    o.putObject("canary").put("n", canaryN).put("estimate", round(canaryEstimate));
    if (stableN >= 0) {
      o.putObject("stable").put("n", stableN).put("estimate", round(stableEstimate));
    }
    if (!Double.isNaN(low) && !Double.isNaN(high)) {
      ObjectNode b = o.putObject("bound");
      put(b, "low", low);
      put(b, "high", high);
    }
    return o.put("reason", reason);
  }

  private static void put(ObjectNode o, String field, double v) {
    if (Double.isInfinite(v)) {
      o.put(field, v > 0 ? "Infinity" : "-Infinity");
    } else {
      o.put(field, round(v));
    }
  }

  private static double round(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v) || v == 0) {
      return v;
    }
    double scale = Math.pow(10, 5 - Math.ceil(Math.log10(Math.abs(v))));
    return Math.round(v * scale) / scale;
  }
}
