package dev.flightdeck.gateway;

/**
 * The errors the gateway itself answers with. Each has a stable code that names the cause;
 * clients and dashboards key on the code, never on the message.
 */
public enum GatewayError {
  /** No agent is served at this path or Host. */
  UNKNOWN_AGENT("unknown_agent", 404),
  /** The agent exists but no version can take the request (no weights, no endpoints). */
  NO_ROUTE("no_route", 503),
  /** The session id is malformed or too long. */
  INVALID_SESSION("invalid_session", 400),
  /** The request body could not be read (too large to inspect, or the client broke it off). */
  INVALID_REQUEST("invalid_request", 400),
  /** The session is pinned to a version that no longer exists, and migration is not allowed. */
  SESSION_VERSION_REMOVED("session_version_removed", 410),
  /** Admission control: the concurrency limit and its queue are full, or the wait timed out. */
  OVERLOADED("overloaded", 429),
  /** The version's circuit breaker is open after repeated upstream failures. */
  CIRCUIT_OPEN("circuit_open", 503),
  /** No replica could be connected to (refused, reset, unreachable). */
  UPSTREAM_UNAVAILABLE("upstream_unavailable", 502),
  /** The upstream took longer than a configured timeout (connect, first byte, idle or total). */
  UPSTREAM_TIMEOUT("upstream_timeout", 504),
  /** The agent answered a WebSocket handshake with something other than 101. */
  UPGRADE_REFUSED("upgrade_refused", 502),
  /** The upstream broke the connection or sent something that is not HTTP. */
  UPSTREAM_RESET("upstream_reset", 502);

  private final String code;
  private final int status;

  GatewayError(String code, int status) {
    this.code = code;
    this.status = status;
  }

  /** The stable code, e.g. {@code upstream_timeout}. */
  public String code() {
    return code;
  }

  /** The HTTP status the client gets. */
  public int status() {
    return status;
  }
}
