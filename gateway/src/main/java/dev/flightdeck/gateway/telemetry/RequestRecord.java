package dev.flightdeck.gateway.telemetry;

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
    boolean shadow) {

  /** Whether it counts as an error in analysis: a 5xx, or a gateway error other than admission. */
  public boolean isError() {
    return status >= 500 || status == 0 || (errorCode != null && !"overloaded".equals(errorCode));
  }
}
