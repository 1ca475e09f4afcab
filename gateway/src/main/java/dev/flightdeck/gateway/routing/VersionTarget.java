package dev.flightdeck.gateway.routing;

import dev.flightdeck.gateway.upstream.AdmissionGate;
import dev.flightdeck.gateway.upstream.Balancer;
import dev.flightdeck.gateway.upstream.CircuitBreaker;
import java.time.Duration;

/**
 * An AgentVersion as the gateway serves it: its replicas, timeouts, retry budget, circuit
 * breaker and admission gate. The live state survives routing changes: a table rebuild reuses
 * the target while the AgentVersion's resourceVersion is the same.
 *
 * @param resourceVersion the stored resourceVersion this target was built from
 * @param gate the version's admission gate, or null when it has no capacity limit
 */
public record VersionTarget(
    String name,
    String agent,
    long resourceVersion,
    Balancer balancer,
    CircuitBreaker breaker,
    AdmissionGate gate,
    Timeouts timeouts,
    int retryAttempts) {

  /** Upstream timeouts. */
  public record Timeouts(Duration connect, Duration firstByte, Duration idle, Duration total) {}

  /** Whether the version has somewhere to send requests. */
  public boolean routable() {
    return !balancer.endpoints().isEmpty();
  }
}
