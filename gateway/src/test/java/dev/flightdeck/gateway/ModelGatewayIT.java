package dev.flightdeck.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.gateway.model.ModelCache;
import dev.flightdeck.sim.Scenario;
import dev.flightdeck.sim.SimulatedLlm;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.budget.Amount;
import dev.flightdeck.store.budget.BudgetStore;
import dev.flightdeck.store.key.ModelKeyStore;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model gateway end to end: a real gateway, store and simulated LLM over loopback HTTP. */
class ModelGatewayIT {

  private static final String MODEL = "gpt-4o-mini-2024-07-18";
  private static final String SCENARIO = """
      models: [gpt-4o-mini-2024-07-18, claude-3-5-haiku-20241022, text-embedding-3-small]
      rules:
        - name: lookup
          when: {user: "(?i)invoice", lastRole: user}
          toolCalls: [{name: lookup_customer, arguments: {field: plan}}]
        - name: answer
          when: {tool: lookup_customer}
          reply: "billing: the plan covers invoice corrections"
          usage: {promptTokens: 40, completionTokens: 10}
        - name: loop
          when: {user: "(?i)loop"}
          toolCalls: [{name: search_kb, arguments: {q: "same query"}}]
        - name: fixed
          when: {user: "(?i)fixed"}
          reply: "exactly twenty tokens"
          usage: {promptTokens: 12, completionTokens: 8}
        - name: slow-stream
          when: {user: "(?i)long story"}
          reply: "once upon a time there was a gateway that metered every token it saw, even in streams that broke"
          latency: {value: 1ms, perChunk: 40ms}
          usage: {promptTokens: 30, completionTokens: 70}
        - name: down
          when: {user: "(?i)outage"}
          reply: "never seen"
          fault: {kind: status, status: 503}
      default:
        reply: "general: a person will look at this ticket"
      """;

  @TempDir
  Path dir;
  Database db;
  GatewayFixture fx;
  SimulatedLlm sim;
  ModelKeyStore keys;
  String key;

  @BeforeEach
  void start() {
    db = Database.sqlite(dir);
    fx = new GatewayFixture(db);
    keys = new ModelKeyStore(db, fx.audit, Clock.systemUTC());
    fx.gateway.models().useKeys(keys::liveByHash, keys::revision);
    sim = SimulatedLlm.start("127.0.0.1", 0, Scenario.parse("scenario.yaml", SCENARIO));
    fx.apply(provider("openai", "openai", sim.baseUrl()) + GatewayFixture.agent("triage",
        "[{version: triage-v1, weight: 100}]", "owner: team-support")
        + version("triage", "triage-v1", "http://127.0.0.1:1", "models: [{id: " + MODEL + "}, {id: text-embedding-3-small}]"));
    key = keys.create("triage", "triage-v1", "test", Principal.SYSTEM).secret();
    fx.gateway.models().housekeeping();
  }

  @AfterEach
  void stop() {
    sim.close();
    fx.close();
  }

  static String provider(String name, String type, String baseUrl) {
    return """
        apiVersion: flightdeck.dev/v1alpha1
        kind: ModelProvider
        metadata: {name: %s}
        spec:
          type: %s
          baseUrl: %s
          models:
            - {id: gpt-4o-mini-2024-07-18, input: 0.15, cachedInput: 0.075, output: 0.60}
            - {id: claude-3-5-haiku-20241022, input: 0.80, output: 4.00}
        ---
        """.formatted(name, type, baseUrl);
  }

  /** An AgentVersion with its own models line instead of the fixture's. */
  static String version(String agent, String name, String url, String models) {
    return GatewayFixture.version(agent, name, url, "placeholder: here")
        .replace("  models: [{id: gpt-4o-mini-2024-07-18}]\n", "").replace("placeholder: here", models);
  }

  static String chat(String user, String extra) {
    return "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + user + "\"}]" + extra + "}";
  }

  HttpResponse<String> call(String body, String... headers) throws Exception {
    String[] all = new String[headers.length + 2];
    all[0] = "Authorization";
    all[1] = "Bearer " + key;
    System.arraycopy(headers, 0, all, 2, headers.length);
    return fx.post("/v1/chat/completions", body, all);
  }

  @Test
  void answersWithTheProvidersAnswerAndMetersIt() throws Exception {
    HttpResponse<String> r = call(chat("fixed price please", ""));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode body = Json.read(r.body());
    assertThat(body.path("choices").path(0).path("message").path("content").asText()).isEqualTo("exactly twenty tokens");
    assertThat(body.path("usage").path("total_tokens").asInt()).isEqualTo(20);
    assertThat(r.headers().firstValue("X-Flightdeck-Version")).contains("triage-v1");
    assertThat(fx.registry.find("flightdeck_model_tokens").tag("kind", "prompt").counter().count()).isEqualTo(12);
    // 12 prompt tokens at $0.15/M and 8 completion tokens at $0.60/M
    assertThat(fx.registry.find("flightdeck_model_cost_usd").counter().count()).isCloseTo(12 * 0.15e-6 + 8 * 0.60e-6,
        org.assertj.core.data.Offset.offset(1e-12));
  }

  @Test
  void refusesCallsWithoutALiveKey() throws Exception {
    HttpResponse<String> none = fx.post("/v1/chat/completions", chat("hi", ""));
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.headers().firstValue("X-Flightdeck-Error")).contains("missing_api_key");
    assertThat(Json.read(none.body()).path("error").path("message").asText()).contains("flightdeck keys create");
    HttpResponse<String> wrong = fx.post("/v1/chat/completions", chat("hi", ""), "Authorization", "Bearer fdk_nope");
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(Json.read(wrong.body()).path("error").path("code").asText()).isEqualTo("invalid_api_key");

    assertThat(call(chat("hi", "")).statusCode()).isEqualTo(200);
    // A version deleted and created again under the same name does not inherit the old keys.
    fx.apply(version("triage", "triage-v9", "http://127.0.0.1:1", "models: [{id: " + MODEL + "}]"));
    String oldKey = keys.create("triage", "triage-v9", "old", Principal.SYSTEM).secret();
    fx.gateway.models().housekeeping();
    assertThat(fx.post("/v1/chat/completions", chat("hi", ""), "Authorization", "Bearer " + oldKey).statusCode())
        .isEqualTo(200);
    fx.store.delete(dev.flightdeck.api.resource.Kind.AGENT_VERSION, "triage-v9", 0, Principal.SYSTEM);
    Thread.sleep(5); // the new version is created in a later millisecond than the key
    fx.apply(version("triage", "triage-v9", "http://127.0.0.1:1", "models: [{id: " + MODEL + "}]"));
    HttpResponse<String> stale = fx.post("/v1/chat/completions", chat("hi", ""), "Authorization", "Bearer " + oldKey);
    assertThat(stale.statusCode()).isEqualTo(403);
    assertThat(Json.read(stale.body()).path("error").path("message").asText()).contains("earlier agent version");
    keys.revoke(keys.list("triage-v1").get(0).id(), Principal.SYSTEM);
    fx.gateway.models().housekeeping();
    assertThat(call(chat("hi", "")).statusCode()).isEqualTo(401);
  }

  @Test
  void rejectsModelsTheVersionDidNotPin() throws Exception {
    HttpResponse<String> other = call(chat("hi", "").replace(MODEL, "gpt-4o"));
    assertThat(other.statusCode()).isEqualTo(400);
    JsonNode e = Json.read(other.body()).path("error");
    assertThat(e.path("code").asText()).isEqualTo("model_not_allowed");
    assertThat(e.path("message").asText()).contains("not pinned by agent version triage-v1").contains(MODEL);
    HttpResponse<String> alias = call(chat("hi", "").replace(MODEL, "gpt-4o-latest"));
    assertThat(Json.read(alias.body()).path("error").path("message").asText()).contains("alias");
    assertThat(sim.requests()).isZero();
  }

  @Test
  void answersMalformedRequestsWithClearErrors() throws Exception {
    HttpResponse<String> broken = call("{\"model\": \"" + MODEL + "\", \"messages\": [");
    assertThat(broken.statusCode()).isEqualTo(400);
    assertThat(Json.read(broken.body()).path("error").path("message").asText()).contains("not valid JSON").contains("line 1");
    HttpResponse<String> array = call("[1,2]");
    assertThat(Json.read(array.body()).path("error").path("message").asText()).contains("must be a JSON object");
    HttpResponse<String> noModel = call("{\"messages\":[]}");
    assertThat(Json.read(noModel.body()).path("error").path("code").asText()).isEqualTo("missing_model");
    HttpResponse<String> badMax = call(chat("hi", ",\"max_tokens\":-5"));
    assertThat(Json.read(badMax.body()).path("error").path("message").asText()).contains("max_tokens");
    HttpResponse<String> huge = call(chat("x".repeat(9 << 20), ""));
    assertThat(huge.statusCode()).isEqualTo(413);
    HttpResponse<String> badSession = call(chat("hi", ""), "X-Flightdeck-Session", "a b");
    assertThat(badSession.statusCode()).isEqualTo(400);
    HttpResponse<String> unknown = fx.post("/v1/completions", "{}", "Authorization", "Bearer " + key);
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(sim.requests()).isZero();
  }

  @Test
  void streamsToolCallsAndHidesTheUsageChunkUnlessAskedFor() throws Exception {
    HttpResponse<String> plain = call(chat("my invoice is wrong", ",\"stream\":true"));
    assertThat(plain.statusCode()).isEqualTo(200);
    assertThat(plain.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
    assertThat(plain.body()).contains("lookup_customer").contains("data: [DONE]").doesNotContain("\"usage\":{");
    HttpResponse<String> withUsage = call(chat("my invoice is wrong",
        ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
    assertThat(withUsage.body()).contains("\"usage\":{");
    // Both streams were metered, though only one client saw the usage.
    assertThat(fx.registry.find("flightdeck_model_tokens").tag("kind", "completion").counter().count()).isPositive();
    assertThat(fx.registry.find("flightdeck_model_calls").tag("outcome", "ok").counter().count()).isEqualTo(2);
  }

  @Test
  void servesModelsAndEmbeddings() throws Exception {
    HttpResponse<String> models = fx.get("/v1/models", "Authorization", "Bearer " + key);
    assertThat(models.statusCode()).isEqualTo(200);
    assertThat(Json.read(models.body()).path("data").findValuesAsText("id")).containsExactly(MODEL, "text-embedding-3-small");
    HttpResponse<String> emb = fx.post("/v1/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":\"hello\"}",
        "Authorization", "Bearer " + key);
    assertThat(emb.statusCode()).as(emb.body()).isEqualTo(200);
    assertThat(Json.read(emb.body()).path("data").path(0).path("embedding").size()).isPositive();
  }

  @Test
  void budgetPerSessionStopsASessionAndNotTheOthers() throws Exception {
    fx.apply("""
        apiVersion: flightdeck.dev/v1alpha1
        kind: Budget
        metadata: {name: per-session}
        spec: {selector: {agent: triage}, per: session, tokens: 1000}
        """);
    // Different questions of the same size: the same one repeated would be halted as a loop first.
    String body = chat("fixed 100", ",\"max_tokens\":8");
    int ok = 0;
    HttpResponse<String> last = null;
    for (int i = 0; i < 100 && (last == null || last.statusCode() == 200); i++) {
      last = call(body.replace("fixed 100", "fixed " + (100 + i)), "X-Flightdeck-Session", "s-1");
      ok += last.statusCode() == 200 ? 1 : 0;
    }
    assertThat(last.statusCode()).isEqualTo(429);
    JsonNode e = Json.read(last.body()).path("error");
    assertThat(e.path("code").asText()).isEqualTo("budget_exceeded");
    assertThat(e.path("message").asText()).contains("budget per-session").contains("of 1000 tokens");
    assertThat(last.headers().firstValue("x-should-retry")).contains("false");
    // Each call used 20 tokens; the reservation is its worst case (body bytes + max_tokens), so the
    // last calls are refused once the worst case no longer fits, never after the budget is spent.
    var counter = new BudgetStore(db, Clock.systemUTC()).counter("budget/per-session/session/triage/s-1").orElseThrow();
    assertThat(counter.used().tokens()).isEqualTo(20L * ok).isLessThanOrEqualTo(1000);
    assertThat(counter.reserved().tokens()).isZero();
    assertThat(ok).isGreaterThan(1000 / (body.length() + 8) - 1);
    // Another session has its own allowance.
    assertThat(call(body, "X-Flightdeck-Session", "s-2").statusCode()).isEqualTo(200);
  }

  @Test
  void leasesAHotBudgetsAllowance_andAnswers503WhenTheBudgetStoreIsDown() throws Exception {
    fx.apply("""
        apiVersion: flightdeck.dev/v1alpha1
        kind: Budget
        metadata: {name: agent-daily}
        spec: {selector: {agent: triage}, per: agent, period: day, costUsd: 100}
        ---
        apiVersion: flightdeck.dev/v1alpha1
        kind: Budget
        metadata: {name: per-session}
        spec: {selector: {agent: triage}, per: session, tokens: 5000}
        """);
    for (int i = 0; i < 5; i++) {
      HttpResponse<String> r = call(chat("fixed " + i, ",\"max_tokens\":8"), "X-Flightdeck-Session", "s-1");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.headers().firstValue("X-Flightdeck-Budget-Remaining-Usd")).isPresent();
    }
    BudgetStore budgets = new BudgetStore(db, Clock.systemUTC());
    // The agent's day is leased: the store holds one slice (1/64 of $100) for this replica, and the
    // calls were granted from it in memory. The session's 5,000 tokens are too few to lease.
    var daily = budgets.counters("budget/agent-daily/", 10);
    assertThat(daily).singleElement().satisfies(c -> {
      assertThat(c.reserved().nanoUsd()).isEqualTo(100_000_000_000L / 64);
      assertThat(c.used()).isEqualTo(Amount.ZERO);
    });
    assertThat(budgets.counter("budget/per-session/session/triage/s-1").orElseThrow())
        .extracting(c -> c.used().tokens(), c -> c.reserved().tokens()).containsExactly(100L, 0L);

    db.close();
    HttpResponse<String> down = call(chat("fixed 9", ",\"max_tokens\":8"), "X-Flightdeck-Session", "s-2");
    assertThat(down.statusCode()).as(down.body()).isEqualTo(503);
    assertThat(Json.read(down.body()).path("error").path("code").asText()).isEqualTo("store_unavailable");
    assertThat(down.headers().firstValue("Retry-After")).contains("1");
  }

  @Test
  void anAbortedStreamIsChargedItsRealUsage() throws Exception {
    fx.apply("""
        apiVersion: flightdeck.dev/v1alpha1
        kind: Budget
        metadata: {name: agent-total}
        spec: {selector: {agent: triage}, tokens: 100000}
        """);
    HttpRequest req = HttpRequest.newBuilder(URI.create(fx.url("/v1/chat/completions")))
        .header("Authorization", "Bearer " + key)
        .POST(HttpRequest.BodyPublishers.ofString(chat("tell me a long story", ",\"stream\":true"))).build();
    HttpResponse<InputStream> r = fx.http.send(req, HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = r.body()) {
      in.readNBytes(64); // the first chunk, then hang up
    }
    BudgetStore budgets = new BudgetStore(db, Clock.systemUTC());
    await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
      var c = budgets.counter("budget/agent-total/agent/triage").orElseThrow();
      assertThat(c.reserved().tokens()).isZero();
      assertThat(c.used().tokens()).isEqualTo(100); // the stream's own usage (30 + 70), read after the client left
    });
  }

  @Test
  void rateLimitsPerKeyWithRetryAfterAndRemainingHeaders() throws Exception {
    fx.apply(GatewayFixture.agent("triage", "[{version: triage-v1, weight: 100}]",
        "modelGateway: {rateLimits: {key: {requestsPerMinute: 3}}}"));
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> r = call(chat("hi", ""));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-ratelimit-remaining-requests")).contains(Integer.toString(2 - i));
    }
    HttpResponse<String> limited = call(chat("hi", ""));
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("X-Flightdeck-Error")).contains("rate_limited");
    assertThat(Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 60L);
    assertThat(limited.headers().firstValue("x-ratelimit-remaining-requests")).contains("0");
    assertThat(sim.requests()).isEqualTo(3);
  }

  @Test
  void haltsASessionStuckInALoopAndCountsItAgainstTheAgentRequest() throws Exception {
    // An agent that calls the model with its session, once per request, as a looping agent would.
    AtomicReference<String> gatewayUrl = new AtomicReference<>(fx.url(""));
    HttpServer agent = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    agent.createContext("/", ex -> {
      String session = ex.getRequestHeaders().getFirst("X-Flightdeck-Session");
      HttpRequest model = HttpRequest.newBuilder(URI.create(gatewayUrl.get() + "/v1/chat/completions"))
          .header("Authorization", "Bearer " + key).header("X-Flightdeck-Session", session)
          .POST(HttpRequest.BodyPublishers.ofString(chat("stuck in a loop", ""))).build();
      try {
        HttpResponse<String> r = fx.http.send(model, HttpResponse.BodyHandlers.ofString());
        byte[] out = r.body().getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(200, out.length); // the agent itself shrugs and answers 200
        ex.getResponseBody().write(out);
      } catch (Exception e) {
        ex.sendResponseHeaders(500, -1);
      }
      ex.close();
    });
    agent.start();
    try {
      fx.apply(GatewayFixture.agent("triage", "[{version: triage-v1, weight: 100}]",
          "modelGateway: {runaway: {maxRepeats: 3}}")
          + version("triage", "triage-v2", "http://127.0.0.1:" + agent.getAddress().getPort(), "models: [{id: " + MODEL + "}]"));
      fx.apply(GatewayFixture.agent("triage", "[{version: triage-v2, weight: 100}]",
          "modelGateway: {runaway: {maxRepeats: 3}}"));
      key = keys.create("triage", "triage-v2", "agent", Principal.SYSTEM).secret();
      fx.gateway.models().housekeeping();
      String[] codes = new String[5];
      for (int i = 0; i < 5; i++) {
        HttpResponse<String> r = fx.post("/agents/triage/", "{}", "X-Flightdeck-Session", "looping");
        codes[i] = Json.read(r.body()).path("error").path("code").asText("ok");
      }
      assertThat(codes).containsExactly("ok", "ok", "ok", "session_halted", "session_halted");
      assertThat(sim.requests()).isEqualTo(3);
      // The agent answered 200 every time, but the halted requests count as errors for the version.
      var stats = fx.gateway.stats("triage-v2", Duration.ofMinutes(1));
      assertThat(stats.requests()).isEqualTo(5);
      assertThat(stats.errors()).isEqualTo(2);
      // And the calls' tokens were added to the agent requests they were made for.
      assertThat(stats.withUsage()).isEqualTo(3);
      assertThat(fx.registry.find("flightdeck_model_sessions_halted").counter().count()).isEqualTo(1);
      // Another session of the same agent is not halted.
      HttpResponse<String> other = fx.post("/agents/triage/", "{}", "X-Flightdeck-Session", "fresh");
      assertThat(Json.read(other.body()).path("error").path("code").asText("ok")).isEqualTo("ok");
    } finally {
      agent.stop(0);
    }
  }

  @Test
  void fallsBackToTheNextProviderAndTranslatesAnthropic() throws Exception {
    fx.apply(provider("primary", "openai", "http://127.0.0.1:1/v1") + provider("claude", "anthropic", sim.baseUrl())
        + version("triage", "triage-fb", "http://127.0.0.1:1", "models: [{id: " + MODEL + ", provider: primary, fallbacks: [{provider: claude, id: claude-3-5-haiku-20241022}]}]"));
    key = keys.create("triage", "triage-fb", "fb", Principal.SYSTEM).secret();
    fx.gateway.models().housekeeping();
    HttpResponse<String> r = call(chat("fixed", ""));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("X-Flightdeck-Provider")).contains("claude");
    JsonNode body = Json.read(r.body());
    assertThat(body.path("object").asText()).isEqualTo("chat.completion");
    assertThat(body.path("choices").path(0).path("message").path("content").asText()).isEqualTo("exactly twenty tokens");
    assertThat(body.path("usage").path("prompt_tokens").asInt()).isEqualTo(12);
    assertThat(fx.registry.find("flightdeck_model_fallbacks").tag("provider", "primary").counter().count()).isEqualTo(1);

    HttpResponse<String> s = call(chat("my invoice is wrong", ",\"stream\":true"));
    assertThat(s.body()).contains("chat.completion.chunk").contains("lookup_customer").contains("data: [DONE]");

    // A 503 from the last provider is relayed, not hidden.
    HttpResponse<String> down = call(chat("outage", ""));
    assertThat(down.statusCode()).isEqualTo(503);
  }

  @Test
  void cachesIdenticalCallsForAgentsThatOptIn() throws Exception {
    fx.gateway.models().useCache(new ModelCache(null, 1 << 20, Clock.systemUTC()));
    fx.apply(GatewayFixture.agent("triage", "[{version: triage-v1, weight: 100}]", "modelGateway: {cache: {exact: true}}"));
    String body = chat("fixed", ",\"temperature\":0");
    HttpResponse<String> first = call(body);
    HttpResponse<String> second = call(body);
    assertThat(second.statusCode()).isEqualTo(200);
    assertThat(second.headers().firstValue("X-Flightdeck-Cache")).contains("exact-hit");
    assertThat(Json.read(second.body()).path("choices")).isEqualTo(Json.read(first.body()).path("choices"));
    HttpResponse<String> streamed = call(body.replace("}]", "}],\"stream\":true"));
    assertThat(streamed.body()).contains("exactly twenty tokens").contains("data: [DONE]");
    assertThat(sim.requests()).isEqualTo(1);
    assertThat(fx.registry.find("flightdeck_model_cache_saved_tokens").counter().count()).isEqualTo(40);
  }
}
