package dev.flightdeck.gateway.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The gateway's Prometheus metrics. Meters are looked up once per (agent, version, status,
 * code) and cached, so recording a request costs a map lookup and a few atomic adds.
 */
public final class GatewayMetrics {

  private static final Duration[] LATENCY_BUCKETS = {
    Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
    Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
    Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10),
    Duration.ofSeconds(30), Duration.ofSeconds(60)
  };

  private final MeterRegistry registry;
  private final Map<String, RequestMeters> requestMeters = new ConcurrentHashMap<>();
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();
  private final Map<String, Timer> waits = new ConcurrentHashMap<>();
  private final Map<String, DistributionSummary> similarities = new ConcurrentHashMap<>();
  private final MultiGauge queueDepth;
  private final MultiGauge inFlight;

  /** Metrics in {@code registry}. */
  public GatewayMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.queueDepth = MultiGauge.builder("flightdeck_gateway_queue_depth")
        .description("Requests waiting for admission").register(registry);
    this.inFlight = MultiGauge.builder("flightdeck_gateway_in_flight")
        .description("Requests admitted and not yet answered").register(registry);
  }

  private record RequestMeters(Timer latency, Timer ttfb, Counter bytesIn, Counter bytesOut,
      Counter promptTokens, Counter completionTokens, Counter cost) {}

  /** Records one answered request. */
  public void record(RequestRecord r) {
    String code = r.errorCode() == null ? "none" : r.errorCode();
    String key = r.agent() + '\u0000' + r.version() + '\u0000' + r.status() + '\u0000' + code + (r.shadow() ? "\u0000s" : "");
    RequestMeters m = requestMeters.computeIfAbsent(key, k -> meters(r, code));
    m.latency.record(r.totalNanos(), TimeUnit.NANOSECONDS);
    if (r.ttfbNanos() >= 0) {
      m.ttfb.record(r.ttfbNanos(), TimeUnit.NANOSECONDS);
    }
    m.bytesIn.increment(r.bytesIn());
    m.bytesOut.increment(r.bytesOut());
    if (r.promptTokens() > 0) {
      m.promptTokens.increment(r.promptTokens());
    }
    if (r.completionTokens() > 0) {
      m.completionTokens.increment(r.completionTokens());
    }
    if (r.costUsd() > 0) {
      m.cost.increment(r.costUsd());
    }
  }

  private RequestMeters meters(RequestRecord r, String code) {
    Tags tags = Tags.of("agent", r.agent(), "version", r.version() == null ? "" : r.version(),
        "status", Integer.toString(r.status()), "code", code, "shadow", Boolean.toString(r.shadow()));
    Tags usage = Tags.of("agent", r.agent(), "version", r.version() == null ? "" : r.version(),
        "shadow", Boolean.toString(r.shadow()));
    return new RequestMeters(
        Timer.builder("flightdeck_gateway_request_duration").description("Time from request to the response's last byte")
            .tags(tags).serviceLevelObjectives(LATENCY_BUCKETS).register(registry),
        Timer.builder("flightdeck_gateway_time_to_first_byte").description("Time until the upstream's response headers")
            .tags(tags).serviceLevelObjectives(LATENCY_BUCKETS).register(registry),
        Counter.builder("flightdeck_gateway_request_bytes").tags(usage).register(registry),
        Counter.builder("flightdeck_gateway_response_bytes").tags(usage).register(registry),
        Counter.builder("flightdeck_gateway_tokens").tags(usage.and("type", "prompt")).register(registry),
        Counter.builder("flightdeck_gateway_tokens").tags(usage.and("type", "completion")).register(registry),
        Counter.builder("flightdeck_gateway_cost_usd").tags(usage).register(registry));
  }

  /** Counts a request the gateway rejected before it reached a version ({@code reason} is its code). */
  public void rejected(String agent, String reason) {
    counter("flightdeck_gateway_rejected", "agent", agent, "reason", reason).increment();
  }

  /** Records how long an admitted request waited in a queue. */
  public void waited(String agent, String scope, long nanos) {
    waits.computeIfAbsent(agent + '\u0000' + scope, k -> Timer.builder("flightdeck_gateway_queue_wait")
        .description("Time requests waited for admission").tags("agent", agent, "scope", scope)
        .serviceLevelObjectives(LATENCY_BUCKETS).register(registry)).record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Records how similar a shadow's answer was to the primary's (compare: semantic). */
  public void shadowSimilarity(String agent, String version, double similarity) {
    similarities.computeIfAbsent(agent + '\u0000' + version, k -> DistributionSummary
        .builder("flightdeck_gateway_shadow_similarity")
        .description("Cosine similarity of shadow answers to primary answers (compare: semantic)")
        .tags("agent", agent, "version", version).serviceLevelObjectives(0.5, 0.7, 0.8, 0.9, 0.95, 0.99)
        .register(registry)).record(similarity);
  }

  /** Counts a mirrored request by result ({@code same}, {@code different}, {@code error}, {@code dropped}). */
  public void shadow(String agent, String version, String result) {
    counter("flightdeck_gateway_shadow", "agent", agent, "version", version, "result", result).increment();
  }

  /** Replaces the queue depth and in-flight gauges (called about once a second). */
  public void gates(List<MultiGauge.Row<?>> depth, List<MultiGauge.Row<?>> inflight) {
    queueDepth.register(depth, true);
    inFlight.register(inflight, true);
  }

  private Counter counter(String name, String... tags) {
    StringBuilder key = new StringBuilder(name);
    for (String t : tags) {
      key.append('\u0000').append(t);
    }
    return counters.computeIfAbsent(key.toString(), k -> Counter.builder(name).tags(tags).register(registry));
  }
}
