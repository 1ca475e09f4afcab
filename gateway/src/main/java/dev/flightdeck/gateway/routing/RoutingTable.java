package dev.flightdeck.gateway.routing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Durations;
import dev.flightdeck.api.resource.Resource;
import dev.flightdeck.gateway.upstream.AdmissionGate;
import dev.flightdeck.gateway.upstream.Balancer;
import dev.flightdeck.gateway.upstream.CircuitBreaker;
import dev.flightdeck.gateway.upstream.Endpoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * An immutable snapshot of how every agent is routed, built from the stored Agents and
 * AgentVersions. The gateway swaps in a new table when routing changes; requests in flight keep
 * the table they started with, so nothing is dropped.
 *
 * @param revision the store revision this table reflects
 */
public record RoutingTable(long revision, Map<String, AgentRoute> agents, Map<String, AgentRoute> hosts) {

  /** A table with no agents. */
  public static RoutingTable empty() {
    return new RoutingTable(-1, Map.of(), Map.of());
  }

  /** The agent routed at {@code /agents/{name}/}, or null. */
  public AgentRoute agent(String name) {
    return agents.get(name);
  }

  /** The agent routed by a Host header value, or null. */
  public AgentRoute byHost(String host) {
    return hosts.isEmpty() || host == null ? null : hosts.get(host.toLowerCase(Locale.ROOT));
  }

  /**
   * Builds a table, reusing the live state (breakers, in-flight counts, gates) of versions and
   * agents whose stored resourceVersion has not changed since {@code previous}.
   */
  public static RoutingTable build(long revision, List<Resource> agentResources,
      List<Resource> versionResources, RoutingTable previous, Scheduler scheduler) {
    Map<String, List<Resource>> versionsByAgent = new HashMap<>();
    for (Resource v : versionResources) {
      versionsByAgent.computeIfAbsent(v.spec().path("agent").asText(), k -> new ArrayList<>()).add(v);
    }
    Map<String, AgentRoute> agents = new HashMap<>();
    Map<String, AgentRoute> hosts = new HashMap<>();
    for (Resource a : agentResources) {
      AgentRoute old = previous.agents.get(a.name());
      Map<String, VersionTarget> versions = new HashMap<>();
      for (Resource v : versionsByAgent.getOrDefault(a.name(), List.of())) {
        VersionTarget reused = old == null ? null : old.versions().get(v.name());
        versions.put(v.name(), reused != null && reused.resourceVersion() == v.metadata().resourceVersion()
            ? reused : version(v, scheduler));
      }
      AgentRoute route = agent(a, versions, old, scheduler);
      agents.put(a.name(), route);
      for (JsonNode h : a.spec().path("hosts")) {
        hosts.put(h.asText().toLowerCase(Locale.ROOT), route);
      }
    }
    return new RoutingTable(revision, Map.copyOf(agents), Map.copyOf(hosts));
  }

  private static AgentRoute agent(Resource a, Map<String, VersionTarget> versions, AgentRoute old,
      Scheduler scheduler) {
    JsonNode spec = a.spec();
    JsonNode routes = spec.path("routes");
    List<String> weighted = new ArrayList<>();
    List<Integer> cumulative = new ArrayList<>();
    int sum = 0;
    for (JsonNode r : routes) {
      int w = r.path("weight").asInt();
      if (w > 0) {
        sum += w;
        weighted.add(r.path("version").asText());
        cumulative.add(sum);
      }
    }
    List<Rule> rules = new ArrayList<>();
    for (JsonNode r : spec.path("rules")) {
      JsonNode m = r.path("match");
      JsonNode u = m.path("user");
      Rule.UserSegment user = null;
      if (u.isObject()) {
        Set<String> in = null;
        if (u.has("in")) {
          in = new HashSet<>();
          for (JsonNode x : u.path("in")) {
            in.add(x.asText());
          }
        }
        user = new Rule.UserSegment(text(u, "header"), text(u, "cookie"), in, u.path("percent").asInt(-1));
      }
      rules.add(new Rule(r.path("name").asText(), entries(m.path("headers")), entries(m.path("cookies")),
          user, r.path("version").asText()));
    }
    JsonNode s = spec.path("session");
    AgentRoute.SessionSpec session = new AgentRoute.SessionSpec(
        s.path("header").asText("X-Flightdeck-Session"), text(s, "cookie"), text(s, "bodyField"),
        Durations.parse(text(s, "ttl"), Duration.ofHours(24)).toMillis(),
        "migrate".equals(s.path("onVersionRemoved").asText()));
    JsonNode sh = spec.path("shadow");
    AgentRoute.Shadow shadow = sh.isObject() && sh.path("percent").asInt() > 0
        ? new AgentRoute.Shadow(sh.path("version").asText(), sh.path("percent").asInt(),
            sh.path("compare").asText("exact"), sh.path("minSimilarity").asDouble(0.8))
        : null;
    AdmissionGate gate = gate(spec.path("capacity"), old == null ? null : old.gate(), scheduler);
    return new AgentRoute(a.name(), List.copyOf(rules), Map.copyOf(versions),
        weighted.toArray(String[]::new), cumulative.stream().mapToInt(Integer::intValue).toArray(),
        session, shadow, gate);
  }

  private static VersionTarget version(Resource v, Scheduler scheduler) {
    JsonNode spec = v.spec();
    List<Endpoint> endpoints = new ArrayList<>();
    for (JsonNode e : spec.path("endpoints")) {
      endpoints.add(new Endpoint(e.path("url").asText()));
    }
    JsonNode od = spec.path("outlierDetection");
    Balancer balancer = new Balancer(endpoints, od.path("consecutiveFailures").asInt(5),
        duration(od, "ejectFor", Duration.ofSeconds(30)).toNanos(), od.path("maxEjectedPercent").asInt(50));
    JsonNode cb = spec.path("circuitBreaker");
    CircuitBreaker breaker = new CircuitBreaker(cb.path("consecutiveFailures").asInt(20),
        duration(cb, "openFor", Duration.ofSeconds(10)).toNanos());
    JsonNode t = spec.path("timeouts");
    VersionTarget.Timeouts timeouts = new VersionTarget.Timeouts(
        duration(t, "connect", Duration.ofSeconds(2)), duration(t, "firstByte", Duration.ofSeconds(60)),
        duration(t, "idle", Duration.ofSeconds(60)), duration(t, "total", Duration.ofMinutes(10)));
    return new VersionTarget(v.name(), spec.path("agent").asText(), v.metadata().resourceVersion(),
        balancer, breaker, gate(spec.path("capacity"), null, scheduler), timeouts,
        spec.path("retries").path("attempts").asInt(2));
  }

  private static AdmissionGate gate(JsonNode capacity, AdmissionGate old, Scheduler scheduler) {
    if (!capacity.has("maxConcurrency")) {
      return null;
    }
    int limit = capacity.path("maxConcurrency").asInt();
    int queue = capacity.path("maxQueue").asInt(0);
    long timeout = duration(capacity, "queueTimeout", Duration.ofSeconds(1)).toNanos();
    if (old != null && old.limit() == limit && old.maxQueue() == queue && old.queueTimeoutNanos() == timeout) {
      return old;
    }
    return new AdmissionGate(limit, queue, timeout, scheduler);
  }

  private static Duration duration(JsonNode node, String field, Duration fallback) {
    return Durations.parse(text(node, field), fallback);
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static List<Map.Entry<String, String>> entries(JsonNode object) {
    List<Map.Entry<String, String>> out = new ArrayList<>();
    object.properties().forEach(e -> out.add(Map.entry(e.getKey(), e.getValue().asText())));
    return List.copyOf(out);
  }
}
