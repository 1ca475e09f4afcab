package dev.flightdeck.gateway.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Durations;
import dev.flightdeck.api.resource.Resource;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * What the model gateway needs from the stored resources, read once per change: providers with
 * their keys and prices, each version's pinned models with their fallback chains, each agent's
 * limits and cache settings, and the budgets. Immutable; a new one replaces it on every change.
 */
public record ModelConfig(
    long revision,
    Map<String, Provider> providers,
    Map<String, VersionModels> versions,
    Map<String, AgentSettings> agents,
    List<BudgetRule> budgets) {

  /** Nothing configured. */
  public static final ModelConfig EMPTY = new ModelConfig(-1, Map.of(), Map.of(), Map.of(), List.of());

  /** Prices in US dollars per million tokens; -1 when unknown. */
  public record Price(double input, double cachedInput, double output) {
    /** No price listed. */
    public static final Price UNKNOWN = new Price(-1, -1, -1);

    /** Whether input and output prices are known. */
    public boolean known() {
      return input >= 0 && output >= 0;
    }

    /** The cost of a call in nano-dollars (1e-9 USD), cached prompt tokens at the cached price. */
    public long nanoUsd(long promptTokens, long cachedTokens, long completionTokens) {
      long cached = Math.max(0, Math.min(cachedTokens, promptTokens));
      double cachedPrice = cachedInput >= 0 ? cachedInput : input;
      // USD per 1M tokens = 1,000 nano-dollars per token.
      return Math.round(((promptTokens - cached) * input + cached * cachedPrice + completionTokens * output) * 1_000);
    }
  }

  /**
   * An upstream model API.
   *
   * @param apiKey the key read from the secret reference, or null when none is configured
   * @param problem why the provider cannot be used (its key's variable is unset, ...), or null
   */
  public record Provider(String name, String type, URI baseUrl, String apiKey, Map<String, String> headers,
      Duration connectTimeout, Duration firstByteTimeout, Duration idleTimeout, int defaultMaxTokens,
      Map<String, Price> prices, String problem) {

    /** Whether it speaks Anthropic's Messages API (translated) rather than OpenAI's. */
    public boolean anthropic() {
      return "anthropic".equals(type);
    }

    /** The price of a model, {@link Price#UNKNOWN} when not listed. */
    public Price price(String model) {
      return prices.getOrDefault(model, Price.UNKNOWN);
    }

    /** {@code baseUrl} joined with a path such as {@code /chat/completions}. */
    public String url(String path) {
      String base = baseUrl.toString();
      return (base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + path;
    }
  }

  /** One place a model is served: a provider and the model's id there. */
  public record Target(String provider, String model) {}

  /** A model a version may call, with the targets to try in order (the first is the primary). */
  public record PinnedModel(String id, List<Target> chain) {}

  /**
   * A version's pinned models.
   *
   * @param created when this AgentVersion was created: keys issued before belong to an earlier
   *     version of the same name, deleted since
   */
  public record VersionModels(String agent, String version, Map<String, PinnedModel> models, java.time.Instant created) {}

  /** Requests and tokens per minute; 0 for no limit on that dimension. */
  public record Rate(long requestsPerMinute, long tokensPerMinute) {
    static final Rate NONE = new Rate(0, 0);

    boolean limited() {
      return requestsPerMinute > 0 || tokensPerMinute > 0;
    }
  }

  /** Runaway detection for an agent's sessions; {@code maxTokensPerMinute} 0 for none. */
  public record Runaway(boolean enabled, int maxRepeats, long maxTokensPerMinute) {
    static final Runaway DEFAULT = new Runaway(true, 10, 0);
  }

  /** An agent's model gateway settings. {@code cache} is null when the agent did not opt in. */
  public record AgentSettings(String agent, String team, Rate agentRate, Rate keyRate, Runaway runaway,
      CacheSettings cache, int maxRequestBytes) {
    static AgentSettings defaults(String agent) {
      return new AgentSettings(agent, null, Rate.NONE, Rate.NONE, Runaway.DEFAULT, null, DEFAULT_MAX_REQUEST);
    }
  }

  /**
   * A Budget resource.
   *
   * @param per {@code session}, {@code version}, {@code agent} or {@code team}
   * @param period {@code total}, {@code day} or {@code month}
   * @param tokens the token limit, -1 for none
   * @param nanoUsd the cost limit in nano-dollars, -1 for none
   */
  public record BudgetRule(String name, String agent, String version, String team, String per, String period,
      long tokens, long nanoUsd, Duration holdFor) {

    /** Whether a call by this agent and version (of an agent owned by {@code team}) is under this budget. */
    public boolean applies(String callAgent, String callVersion, String callTeam) {
      if (team != null) {
        return team.equals(callTeam);
      }
      return (agent == null || agent.equals(callAgent)) && (version == null || version.equals(callVersion));
    }
  }

  /** Default bound on a request body: 8 MiB. */
  public static final int DEFAULT_MAX_REQUEST = 8 << 20;

  /** A model gateway's view of the resources; {@code env} reads the gateway's environment. */
  public static ModelConfig build(long revision, List<Resource> agents, List<Resource> versions,
      List<Resource> providers, List<Resource> budgets, Function<String, String> env) {
    Map<String, Provider> ps = new HashMap<>();
    for (Resource r : providers) {
      ps.put(r.name(), provider(r, env));
    }
    Map<String, VersionModels> vs = new HashMap<>();
    for (Resource r : versions) {
      Map<String, PinnedModel> models = new LinkedHashMap<>();
      for (JsonNode m : r.spec().path("models")) {
        String id = m.path("id").asText();
        List<Target> chain = new ArrayList<>();
        chain.add(new Target(m.path("provider").asText("openai"), id));
        for (JsonNode f : m.path("fallbacks")) {
          chain.add(new Target(f.path("provider").asText(), f.path("id").asText(id)));
        }
        models.putIfAbsent(id, new PinnedModel(id, List.copyOf(chain)));
      }
      vs.put(r.name(), new VersionModels(r.spec().path("agent").asText(), r.name(),
          java.util.Collections.unmodifiableMap(models), r.metadata().creationTimestamp().orElse(java.time.Instant.MIN)));
    }
    Map<String, AgentSettings> as = new HashMap<>();
    for (Resource r : agents) {
      as.put(r.name(), agentSettings(r));
    }
    List<BudgetRule> bs = new ArrayList<>();
    for (Resource r : budgets) {
      bs.add(budget(r));
    }
    return new ModelConfig(revision, Map.copyOf(ps), Map.copyOf(vs), Map.copyOf(as), List.copyOf(bs));
  }

  /** An agent's settings, the defaults when the agent is unknown. */
  public AgentSettings agent(String name) {
    AgentSettings s = agents.get(name);
    return s != null ? s : AgentSettings.defaults(name);
  }

  private static Provider provider(Resource r, Function<String, String> env) {
    JsonNode spec = r.spec();
    String problem = null;
    String key = null;
    JsonNode ref = spec.path("apiKey");
    if (ref.has("env")) {
      key = env.apply(ref.get("env").asText());
      if (key == null || key.isBlank()) {
        problem = "its key is read from the environment variable " + ref.get("env").asText()
            + ", which is not set in the gateway's environment";
      }
    } else if (ref.has("file")) {
      try {
        key = Files.readString(Path.of(ref.get("file").asText()), StandardCharsets.UTF_8).strip();
      } catch (IOException | RuntimeException e) {
        problem = "its key is read from the file " + ref.get("file").asText() + ", which cannot be read: " + e.getMessage();
      }
    }
    Map<String, String> headers = new LinkedHashMap<>();
    spec.path("headers").fields().forEachRemaining(e -> headers.put(e.getKey(), e.getValue().asText()));
    Map<String, Price> prices = new HashMap<>();
    for (JsonNode m : spec.path("models")) {
      prices.put(m.path("id").asText(), new Price(m.path("input").asDouble(-1), m.path("cachedInput").asDouble(-1),
          m.path("output").asDouble(-1)));
    }
    JsonNode t = spec.path("timeouts");
    return new Provider(r.name(), spec.path("type").asText("openai"), URI.create(spec.path("baseUrl").asText()), key,
        Map.copyOf(headers), Durations.parse(t.path("connect").asText(""), Duration.ofSeconds(5)),
        Durations.parse(t.path("firstByte").asText(""), Duration.ofSeconds(120)),
        Durations.parse(t.path("idle").asText(""), Duration.ofSeconds(120)),
        spec.path("defaultMaxTokens").asInt(4096), Map.copyOf(prices), problem);
  }

  private static AgentSettings agentSettings(Resource r) {
    JsonNode g = r.spec().path("modelGateway");
    JsonNode rl = g.path("rateLimits");
    JsonNode ru = g.path("runaway");
    Runaway runaway = new Runaway(ru.path("enabled").asBoolean(true), ru.path("maxRepeats").asInt(10),
        ru.path("maxTokensPerMinute").asLong(0));
    CacheSettings cache = null;
    JsonNode c = g.path("cache");
    if (c.isObject()) {
      cache = new CacheSettings(c.path("exact").asBoolean(true), c.path("semantic").asBoolean(false),
          c.path("minSimilarity").asDouble(0.95), Durations.parse(c.path("ttl").asText(""), Duration.ofHours(1)),
          c.path("maxEntries").asInt(10_000), c.has("shareGroup") ? c.get("shareGroup").asText() : null);
    }
    String owner = r.spec().path("owner").asText(null);
    return new AgentSettings(r.name(), owner, rate(rl.path("agent")), rate(rl.path("key")), runaway, cache,
        g.path("maxRequestBytes").asInt(DEFAULT_MAX_REQUEST));
  }

  private static Rate rate(JsonNode n) {
    return new Rate(n.path("requestsPerMinute").asLong(0), n.path("tokensPerMinute").asLong(0));
  }

  private static BudgetRule budget(Resource r) {
    JsonNode spec = r.spec();
    JsonNode sel = spec.path("selector");
    String agent = sel.has("agent") ? sel.get("agent").asText() : null;
    String version = sel.has("version") ? sel.get("version").asText() : null;
    String team = sel.has("team") ? sel.get("team").asText() : null;
    String per = spec.has("per") ? spec.get("per").asText()
        : team != null ? "team" : version != null ? "version" : "agent";
    long nano = spec.has("costUsd") ? Math.round(spec.get("costUsd").asDouble() * 1e9) : -1;
    return new BudgetRule(r.name(), agent, version, team, per, spec.path("period").asText("total"),
        spec.path("tokens").asLong(-1), nano, Durations.parse(spec.path("holdFor").asText(""), Duration.ofMinutes(15)));
  }
}
