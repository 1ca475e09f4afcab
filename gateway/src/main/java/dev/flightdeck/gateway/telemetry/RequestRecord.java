package dev.flightdeck.gateway.telemetry;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.util.Map;

/**
 * What the gateway saw of one request.
 *
 * @param rule the routing rule that chose the version, "session" for a pin, "weight" for the split
 * @param status the status the client got (0 when the response was aborted mid-way)
 * @param errorCode the gateway's error code ({@code upstream_timeout}, ...) or null
 * @param ttfbNanos time to the upstream's first byte, or -1
 * @param promptTokens -1 when the response did not say
 * @param costUsd -1 when the response did not say
 * @param shadow whether this was a mirrored request (its response went nowhere)
 * @param metrics custom metrics from the response's {@code X-Flightdeck-Metric-<Name>} headers,
 *     by lower-case name ({@link MetricHeaders}); empty when none
 */
public record RequestRecord(
    String agent,
    String version,
    String session,
    String rule,
    int status,
    String errorCode,
    long ttfbNanos,
    long totalNanos,
    long bytesIn,
    long bytesOut,
    long promptTokens,
    long completionTokens,
    long cachedTokens,
    double costUsd,
    boolean shadow,
    Map<String, Double> metrics) {

  /** Makes {@code metrics} an immutable copy ({@code Map.of()} is kept as it is). */
  public RequestRecord {
    metrics = Map.copyOf(metrics);
  }

  /** Whether it counts as an error in analysis: a 5xx, or a gateway error other than admission. */
  public boolean isError() {
    return status >= 500 || status == 0 || (errorCode != null && !"overloaded".equals(errorCode));
  }

  /** The record as one JSON object (the access log's line). */
  public String toJson() {
    StringBuilder sb = new StringBuilder(256).append('{');
    field(sb, "agent", agent).append(',');
    field(sb, "version", version).append(',');
    field(sb, "session", session).append(',');
    field(sb, "rule", rule).append(',');
    sb.append("\"status\":").append(status).append(',');
    field(sb, "error", errorCode).append(',');
    sb.append("\"ttfbMs\":").append(ttfbNanos < 0 ? "null" : String.format(java.util.Locale.ROOT, "%.3f", ttfbNanos / 1e6)).append(',');
    sb.append("\"totalMs\":").append(String.format(java.util.Locale.ROOT, "%.3f", totalNanos / 1e6)).append(',');
    sb.append("\"bytesIn\":").append(bytesIn).append(",\"bytesOut\":").append(bytesOut).append(',');
    sb.append("\"promptTokens\":").append(promptTokens < 0 ? "null" : promptTokens).append(',');
    sb.append("\"completionTokens\":").append(completionTokens < 0 ? "null" : completionTokens).append(',');
    sb.append("\"costUsd\":").append(costUsd < 0 || costUsd == Double.POSITIVE_INFINITY ? "null" : Double.toString(costUsd)).append(',');
    sb.append("\"shadow\":").append(shadow).append(",\"metrics\":{");
    boolean first = true;
    for (Map.Entry<String, Double> m : metrics.entrySet()) {
      if (!first) {
        sb.append(',');
      }
      first = false;
      sb.append('"');
      JsonStringEncoder.getInstance().quoteAsString(m.getKey(), sb);
      double v = m.getValue();
      sb.append("\":").append(Double.isFinite(v) ? Double.toString(v) : "null");
    }
    sb.append('}');
    return sb.append('}').toString();
  }

  private static StringBuilder field(StringBuilder sb, String name, String value) {
    sb.append('"').append(name).append("\":");
    if (value == null) {
      return sb.append("null");
    }
    sb.append('"');
    JsonStringEncoder.getInstance().quoteAsString(value, sb);
    return sb.append('"');
  }
}
