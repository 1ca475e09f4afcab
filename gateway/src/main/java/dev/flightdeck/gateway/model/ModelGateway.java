package dev.flightdeck.gateway.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.ModelIds;
import dev.flightdeck.gateway.SessionIds;
import dev.flightdeck.gateway.telemetry.CallLedger;
import dev.flightdeck.gateway.telemetry.Usage;
import dev.flightdeck.store.StoreException;
import dev.flightdeck.store.budget.Amount;
import dev.flightdeck.store.budget.BudgetCounter;
import dev.flightdeck.store.budget.BudgetLeases;
import dev.flightdeck.store.budget.BudgetStore;
import dev.flightdeck.store.budget.Reservation;
import dev.flightdeck.store.key.ModelKey;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.Callback;

/**
 * The model gateway: an OpenAI-compatible API ({@code /v1/chat/completions},
 * {@code /v1/embeddings}, {@code /v1/models}) in front of the providers. Every call is known by
 * its virtual key (agent and version) and session header, and goes through, in order: the pin
 * check, runaway detection, the rate limits, the cache, the budgets (a reservation of the
 * call's worst case), then the providers of the model's fallback chain. When the answer or the
 * stream ends, the reservation is settled with the real usage and the usage and cost are added
 * to the agent request the call was made for.
 *
 * <p>Each call runs on a virtual thread: the store, the providers and the client are used with
 * blocking calls, which keeps the order of the steps plain to read.
 */
public final class ModelGateway {

  private static final System.Logger LOG = System.getLogger(ModelGateway.class.getName());
  /** Header that carries the session id, as the gateway gives it to the agent. */
  public static final String SESSION_HEADER = "X-Flightdeck-Session";
  private static final long MAX_RESPONSE = 64L << 20;
  /** Tokens an image in a prompt may cost at most, for the worst-case reservation. */
  private static final int IMAGE_TOKENS = 1_600;
  private static final Duration DRAIN_AFTER_ABORT = Duration.ofSeconds(10);

  /** Finds the live key behind a secret's hash. */
  private volatile Function<String, ModelKey> keys = h -> null;
  private volatile Consumer<SessionHalt> haltListener = h -> { };
  private final Supplier<ModelConfig> config;
  private final BudgetStore budgets;
  private final BudgetLeases leases;
  private final CallLedger ledger;
  private final Function<Duration, HttpClient> clients;
  private final Clock clock;
  private final RateLimits rates;
  private final Runaway runaway;
  private volatile ModelCache cache;
  private final MeterRegistry registry;
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();
  private final Timer overhead;

  /**
   * A model gateway.
   *
   * @param budgets where budgets are kept; shared by every replica on the same database
   * @param ledger where calls are joined to the agent requests they were made for
   * @param clients the HTTP client for a connect timeout
   */
  public ModelGateway(Supplier<ModelConfig> config, BudgetStore budgets, CallLedger ledger,
      Function<Duration, HttpClient> clients, MeterRegistry registry, Clock clock) {
    this.config = config;
    this.budgets = budgets;
    this.leases = new BudgetLeases(budgets, clock);
    this.ledger = ledger;
    this.clients = clients;
    this.clock = clock;
    this.registry = registry;
    this.rates = new RateLimits(() -> clock.millis() / 1000);
    this.runaway = new Runaway(clock::millis);
    this.overhead = Timer.builder("flightdeck_model_gateway_overhead")
        .description("Time from a call's arrival to sending it to the provider: identity, pins, limits, cache, budgets")
        .publishPercentiles(0.5, 0.99).register(registry);
  }

  /** Uses these virtual keys: {@code liveByHash} is re-read whenever {@code revision} changes. */
  public void useKeys(Supplier<Map<String, ModelKey>> liveByHash, LongSupplier revision) {
    KeyTable table = new KeyTable(liveByHash, revision);
    table.refresh();
    this.keys = table::find;
    this.keyTable = table;
  }

  private volatile KeyTable keyTable;

  /** Calls {@code listener} when a session is halted (to record the event). */
  public void onHalt(Consumer<SessionHalt> listener) {
    this.haltListener = listener;
  }

  /** Answers cacheable calls of agents that opted in from {@code cache}. */
  public void useCache(ModelCache cache) {
    this.cache = cache;
  }

  /** Lifts a halted session's halt. */
  public boolean release(String agent, String session) {
    return runaway.release(agent, session);
  }

  /** Periodic work: key reloads, expired limiter windows and sessions, expired reservations. */
  public void housekeeping() {
    KeyTable t = keyTable;
    if (t != null) {
      t.refresh();
    }
    rates.sweep();
    runaway.sweep();
    leases.expire();
  }

  /** Returns this replica's unused budget leases (calls still in flight settle theirs as they end). */
  public void close() {
    leases.close();
  }

  /** Settles reservations left by dead gateways and drops expired counters (every few seconds). */
  public void sweepBudgets() {
    budgets.sweepExpired();
    budgets.deleteExpiredCounters();
  }

  /** Whether this handles the path: {@code /v1/...}. */
  public static boolean serves(String path) {
    return path.startsWith("/v1/") || path.equals("/v1");
  }

  /** Serves one request on a virtual thread. */
  public void handle(Request req, Response resp, Callback callback) {
    Thread.ofVirtual().name("flightdeck-model-call").start(() -> {
      Call call = new Call(req, resp, callback);
      try {
        call.serve();
      } catch (ModelError e) {
        call.error(e);
      } catch (BudgetLeases.Busy e) {
        call.error(new ModelError(503, "overloaded", "the model gateway is overloaded (" + e.getMessage()
            + "); retry shortly").header("Retry-After", "1"));
      } catch (StoreException e) {
        LOG.log(System.Logger.Level.WARNING, "model call failed: the budget store did not answer", e);
        call.error(new ModelError(503, "store_unavailable", "the budget store is unavailable; retry shortly")
            .header("Retry-After", "1"));
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "model call failed", e);
        call.error(new ModelError(500, "internal_error", "the model gateway failed: " + e));
      }
    });
  }

  /** Who is calling: a live virtual key's agent and version. */
  private record Identity(String keyId, String agent, String version, java.time.Instant issued) {}

  /** One call from arrival to settlement. */
  private final class Call {
    final Request req;
    final Response resp;
    final Callback callback;
    final long arrived = System.nanoTime();
    boolean responded;
    Identity who;
    String session;
    final Map<String, String> limitHeaders = new java.util.LinkedHashMap<>();
    ModelConfig cfg;
    Admission admission;
    /** The call's worst case, reserved on its budgets. */
    Amount asked = Amount.ZERO;
    /** What the call used, once counted. */
    Amount charged;
    /** Where its answer is cached, or null when it is not cacheable. */
    ModelCache.Key cacheKey;

    Call(Request req, Response resp, Callback callback) {
      this.req = req;
      this.resp = resp;
      this.callback = callback;
    }

    void serve() {
      String path = req.getHttpURI().getPath();
      String method = req.getMethod();
      who = authenticate();
      cfg = config.get();
      ModelConfig.VersionModels vm = cfg.versions().get(who.version());
      if (vm == null) {
        throw new ModelError(403, "version_removed", "agent version " + who.version() + " of this key no longer exists");
      }
      if (who.issued().isBefore(vm.created())) {
        throw new ModelError(403, "version_removed", "this key was issued for an earlier agent version named "
            + who.version() + ", deleted since; issue a key for the new one (flightdeck keys create agentversion/"
            + who.version() + ")");
      }
      switch (path) {
        case "/v1/models" -> {
          requireMethod(method, "GET");
          models(vm);
        }
        case "/v1/chat/completions" -> {
          requireMethod(method, "POST");
          call(vm, Endpoint.CHAT);
        }
        case "/v1/embeddings" -> {
          requireMethod(method, "POST");
          call(vm, Endpoint.EMBEDDINGS);
        }
        default -> throw new ModelError(404, "unknown_endpoint", "the model gateway serves POST /v1/chat/completions, "
            + "POST /v1/embeddings and GET /v1/models; got " + method + " " + path);
      }
    }

    private void requireMethod(String method, String expected) {
      if (!expected.equals(method)) {
        throw new ModelError(405, "method_not_allowed", req.getHttpURI().getPath() + " takes " + expected + ", got " + method)
            .header("Allow", expected);
      }
    }

    private Identity authenticate() {
      String auth = req.getHeaders().get(HttpHeader.AUTHORIZATION);
      String secret = null;
      if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
        secret = auth.substring(7).strip();
      } else if (req.getHeaders().get("x-api-key") != null) {
        secret = req.getHeaders().get("x-api-key").strip();
      }
      if (secret == null || secret.isEmpty()) {
        throw new ModelError(401, "missing_api_key", "no API key: send a Flightdeck virtual key as "
            + "'Authorization: Bearer fdk_...' (create one with: flightdeck keys create agentversion/NAME)");
      }
      ModelKey key = secret.length() > 200 ? null : keys.apply(dev.flightdeck.store.key.ModelKeyStore.hash(secret));
      if (key == null) {
        throw new ModelError(401, "invalid_api_key", "the API key is not a live Flightdeck virtual key"
            + " (unknown or revoked)");
      }
      return new Identity(key.id(), key.agent(), key.version(), key.createdAt());
    }

    private void models(ModelConfig.VersionModels vm) {
      ObjectNode root = Json.object();
      root.put("object", "list");
      ArrayNode data = root.putArray("data");
      long created = clock.instant().getEpochSecond();
      for (String id : vm.models().keySet()) {
        data.addObject().put("id", id).put("object", "model").put("created", created)
            .put("owned_by", vm.models().get(id).chain().get(0).provider());
      }
      respond(200, "application/json", Json.write(root).getBytes(StandardCharsets.UTF_8));
    }

    private void call(ModelConfig.VersionModels vm, Endpoint endpoint) {
      ModelConfig.AgentSettings settings = cfg.agent(who.agent());
      byte[] bytes = readBody(settings.maxRequestBytes());
      ObjectNode body = parse(bytes);
      JsonNode modelNode = body.get("model");
      if (modelNode == null || !modelNode.isTextual() || modelNode.asText().isEmpty()) {
        throw ModelError.badRequest("missing_model", "the request has no \"model\" (expected a model id string)");
      }
      String model = modelNode.asText();
      ModelConfig.PinnedModel pinned = vm.models().get(model);
      if (pinned == null) {
        throw new ModelError(400, "model_not_allowed", "model \"" + model + "\" is not pinned by agent version "
            + who.version() + "; it may call " + String.join(", ", vm.models().keySet())
            + (ModelIds.isAlias(model) ? ". \"" + model + "\" is an alias that moves when the provider ships a new"
                + " model; call an exact model id" : ""));
      }
      session = req.getHeaders().get(SESSION_HEADER);
      if (session != null && !SessionIds.valid(session)) {
        throw ModelError.badRequest("invalid_session", "the " + SESSION_HEADER + " header must be 1 to "
            + SessionIds.MAX_LENGTH + " printable ASCII characters");
      }
      boolean stream = endpoint == Endpoint.CHAT && body.path("stream").asBoolean(false);
      if (session != null) {
        Optional<SessionHalt> halt = runaway.halted(who.agent(), session);
        if (halt.isEmpty() && endpoint == Endpoint.CHAT) {
          halt = runaway.call(who.agent(), who.version(), session, Models.fingerprint(body), settings.runaway());
          halt.ifPresent(this::halted);
        }
        if (halt.isPresent()) {
          ledger.halt(who.version(), session, "session_halted");
          throw new ModelError(429, "session_halted", "session " + session + " is halted: " + halt.get().reason())
              .noRetry();
        }
      }
      ModelConfig.Provider primary = cfg.providers().get(pinned.chain().get(0).provider());
      int defaultMax = primary == null ? 4096 : primary.defaultMaxTokens();
      long maxOut = endpoint == Endpoint.EMBEDDINGS ? 0 : Models.maxOutputTokens(body, defaultMax);
      long promptBound = Models.promptTokenBound(body, bytes.length, IMAGE_TOKENS);
      long rateEstimate = bytes.length / 4 + maxOut;
      admission = admit(settings, rateEstimate);
      try {
        ModelCache c = cache;
        if (c != null && settings.cache() != null && endpoint == Endpoint.CHAT) {
          cacheKey = ModelCache.key(who.agent(), settings.cache(), body).orElse(null);
          if (cacheKey != null) {
            Optional<ModelCache.Hit> hit = c.lookup(cacheKey, settings.cache());
            if (hit.isPresent()) {
              overhead.record(System.nanoTime() - arrived, TimeUnit.NANOSECONDS);
              cached(hit.get(), stream, body, admission);
              return;
            }
          }
        }
        List<BudgetCounter> charged = counters(settings);
        long worstNano = worstCaseNano(pinned, promptBound, maxOut, charged);
        asked = new Amount(promptBound + maxOut, worstNano);
        BudgetLeases.Held grant = reserve(charged, asked);
        Outcome outcome = Outcome.FAILED;
        Relay relay = new Relay(stream, body.path("stream_options").path("include_usage").asBoolean(false));
        try {
          overhead.record(System.nanoTime() - arrived, TimeUnit.NANOSECONDS);
          outcome = forward(pinned, endpoint, body, relay);
        } finally {
          settle(grant, relay, outcome);
        }
      } catch (RuntimeException e) {
        if (!admission.settled) {
          admission.settle(rateEstimate, 0);
        }
        throw e;
      }
    }

    // ---- steps ----

    private byte[] readBody(int max) {
      long declared = req.getLength();
      if (declared > max) {
        throw new ModelError(413, "request_too_large", "the request body is " + declared + " bytes; at most " + max
            + " are accepted (spec.modelGateway.maxRequestBytes of agent " + who.agent() + ")");
      }
      try {
        return Content.Source.asByteArrayAsync(req, max).get();
      } catch (ExecutionException e) {
        throw new ModelError(413, "request_too_large", "could not read the request body (at most " + max + " bytes): "
            + e.getCause().getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ModelError(499, "client_closed", "interrupted while reading the request");
      }
    }

    private ObjectNode parse(byte[] bytes) {
      JsonNode n;
      try {
        n = Json.mapper().readTree(bytes);
      } catch (JsonProcessingException e) {
        throw ModelError.badRequest("invalid_json", "the request body is not valid JSON: " + e.getOriginalMessage()
            + " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr());
      } catch (IOException e) {
        throw ModelError.badRequest("invalid_json", "the request body could not be read as JSON: " + e.getMessage());
      }
      if (!(n instanceof ObjectNode o)) {
        throw ModelError.badRequest("invalid_json", "the request body must be a JSON object, got "
            + (n == null ? "nothing" : n.getNodeType().toString().toLowerCase(Locale.ROOT)));
      }
      return o;
    }

    /** Admits the call under the key's and the agent's rate limits, or throws 429 rate_limited. */
    private Admission admit(ModelConfig.AgentSettings s, long estimate) {
      Admission a = new Admission(rates.now());
      a.estimate = estimate;
      RateLimits.Decision tightest = null;
      if (s.agentRate().limited()) {
        RateLimits.Decision d = rates.acquire("agent:" + who.agent(), s.agentRate(), estimate);
        if (!d.allowed()) {
          throw limited(d, "agent " + who.agent());
        }
        a.keys.add("agent:" + who.agent());
        tightest = d;
      }
      if (s.keyRate().limited()) {
        RateLimits.Decision d = rates.acquire("key:" + who.keyId(), s.keyRate(), estimate);
        if (!d.allowed()) {
          a.settle(estimate, 0);
          a.undoRequests();
          throw limited(d, "key " + who.keyId());
        }
        a.keys.add("key:" + who.keyId());
        tightest = tightest == null ? d : tighter(tightest, d);
      }
      if (tightest != null) {
        limitHeaders(tightest, limitHeaders);
      }
      return a;
    }

    private ModelError limited(RateLimits.Decision d, String who) {
      ModelError e = new ModelError(429, "rate_limited", "rate limit of " + who + " reached: " + d.reason()
          + "; retry in " + d.retryAfterSeconds() + " s")
          .header("Retry-After", Long.toString(d.retryAfterSeconds()));
      limitHeaders(d, e.headers);
      return e;
    }

    private void halted(SessionHalt h) {
      ledger.halt(h.version(), h.session(), "session_halted");
      count("flightdeck_model_sessions_halted", "agent", h.agent(), "version", h.version());
      LOG.log(System.Logger.Level.WARNING, "halted session {0} of agent {1} ({2}): {3}", h.session(), h.agent(),
          h.version(), h.reason());
      try {
        haltListener.accept(h);
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "recording the halt of session " + h.session() + " failed: " + e);
      }
    }

    /** The budget counters this call is charged to. */
    private List<BudgetCounter> counters(ModelConfig.AgentSettings s) {
      List<BudgetCounter> out = new ArrayList<>();
      for (ModelConfig.BudgetRule b : cfg.budgets()) {
        if (!b.applies(who.agent(), who.version(), s.team())) {
          continue;
        }
        String unit = switch (b.per()) {
          case "session" -> "session/" + who.agent() + "/" + (session == null ? "-" : session);
          case "version" -> "version/" + who.version();
          case "team" -> "team/" + s.team();
          default -> "agent/" + who.agent();
        };
        long now = clock.millis();
        LocalDate today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
        String period;
        long expires;
        switch (b.period()) {
          case "day" -> {
            period = "/" + today;
            expires = today.plusDays(2).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
          }
          case "month" -> {
            period = "/" + today.withDayOfMonth(1).toString().substring(0, 7);
            expires = today.withDayOfMonth(1).plusMonths(1).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
          }
          default -> {
            period = "";
            // A session's allowance is kept 30 days after its last call; the others for good.
            expires = b.per().equals("session") ? now + Duration.ofDays(30).toMillis() : Long.MAX_VALUE;
          }
        }
        out.add(new BudgetCounter("budget/" + b.name() + "/" + unit + period, b.name(), b.tokens(), b.nanoUsd(), expires));
      }
      out.sort(Comparator.comparing(BudgetCounter::key));
      return out;
    }

    /** The most the call can cost at any provider of its chain, in nano-dollars. */
    private long worstCaseNano(ModelConfig.PinnedModel pinned, long prompt, long maxOut,
        List<BudgetCounter> charged) {
      boolean costLimited = charged.stream().anyMatch(c -> c.limitNanoUsd() >= 0);
      long worst = 0;
      for (ModelConfig.Target t : pinned.chain()) {
        ModelConfig.Provider p = cfg.providers().get(t.provider());
        ModelConfig.Price price = p == null ? ModelConfig.Price.UNKNOWN : p.price(t.model());
        if (!price.known()) {
          if (costLimited) {
            String budget = charged.stream().filter(c -> c.limitNanoUsd() >= 0).findFirst().orElseThrow().budget();
            throw new ModelError(400, "price_unknown", "budget " + budget + " limits cost, but model " + t.model()
                + " has no price at provider " + t.provider() + "; list it with input and output prices in"
                + " modelprovider/" + t.provider() + " spec.models").noRetry();
          }
          continue;
        }
        worst = Math.max(worst, price.nanoUsd(prompt, 0, maxOut));
      }
      return worst;
    }

    private BudgetLeases.Held reserve(List<BudgetCounter> charged, Amount asked) {
      if (charged.isEmpty()) {
        return null;
      }
      Duration hold = cfg.budgets().stream().map(ModelConfig.BudgetRule::holdFor).max(Comparator.naturalOrder())
          .orElse(Duration.ofMinutes(15));
      BudgetLeases.Result r = leases.reserve(charged, asked, hold);
      if (r instanceof BudgetLeases.Refused(Reservation.Denied d)) {
        BudgetCounter c = d.counter();
        boolean tokens = c.limitTokens() >= 0 && d.usedAndReserved().tokens() + d.asked().tokens() > c.limitTokens();
        String what = tokens
            ? d.usedAndReserved().tokens() + " of " + c.limitTokens() + " tokens used or reserved, this call may use "
                + d.asked().tokens()
            : usd(d.usedAndReserved().nanoUsd()) + " of " + usd(c.limitNanoUsd()) + " used or reserved, this call may cost "
                + usd(d.asked().nanoUsd());
        count("flightdeck_model_budget_denials", "agent", who.agent(), "budget", c.budget());
        ModelError e = new ModelError(429, "budget_exceeded", "budget " + c.budget() + " would be exceeded (" + what
            + ", counter " + c.key() + "); lower max_tokens or raise the budget").noRetry();
        long retry = retryAfterPeriod(cfg.budgets().stream().filter(b -> b.name().equals(c.budget()))
            .map(ModelConfig.BudgetRule::period).findFirst().orElse("total"));
        if (retry > 0) {
          e.header("Retry-After", Long.toString(retry));
        }
        throw e;
      }
      BudgetLeases.Held g = (BudgetLeases.Held) r;
      Amount left = g.remaining();
      if (left.tokens() >= 0) {
        limitHeaders.put("X-Flightdeck-Budget-Remaining-Tokens", Long.toString(left.tokens()));
      }
      if (left.nanoUsd() >= 0) {
        limitHeaders.put("X-Flightdeck-Budget-Remaining-Usd", usd(left.nanoUsd()).substring(1));
      }
      return g;
    }

    /** Seconds until a day or month budget restarts (midnight UTC); 0 for a lifetime budget. */
    private long retryAfterPeriod(String period) {
      var now = clock.instant();
      LocalDate today = LocalDate.ofInstant(now, ZoneOffset.UTC);
      LocalDate next = switch (period) {
        case "day" -> today.plusDays(1);
        case "month" -> today.withDayOfMonth(1).plusMonths(1);
        default -> null;
      };
      return next == null ? 0 : Duration.between(now, next.atStartOfDay(ZoneOffset.UTC).toInstant()).toSeconds() + 1;
    }

    /** Tries the chain's providers in order; returns how the call ended. */
    private Outcome forward(ModelConfig.PinnedModel pinned, Endpoint endpoint, ObjectNode body,
        Relay relay) {
      List<String> failures = new ArrayList<>();
      List<ModelConfig.Target> chain = pinned.chain();
      for (int i = 0; i < chain.size(); i++) {
        ModelConfig.Target t = chain.get(i);
        boolean last = i == chain.size() - 1;
        ModelConfig.Provider p = cfg.providers().get(t.provider());
        if (p == null) {
          failures.add(t.provider() + ": no ModelProvider of that name");
          continue;
        }
        if (p.problem() != null) {
          failures.add(t.provider() + ": " + p.problem());
          continue;
        }
        if (p.anthropic() && endpoint == Endpoint.EMBEDDINGS) {
          failures.add(t.provider() + ": Anthropic serves no embeddings");
          continue;
        }
        relay.target(p, t.model());
        // Closing the answer's stream hands the connection back to the pool (or closes it).
        try (Attempt a = attempt(p, t, endpoint, body, relay)) {
          if (a.retryable && !last) {
            failures.add(t.provider() + ": " + a.failure);
            count("flightdeck_model_fallbacks", "agent", who.agent(), "provider", t.provider());
            continue;
          }
          if (a.retryable && a.response == null) {
            failures.add(t.provider() + ": " + a.failure);
            break;
          }
          return relay.deliver(a);
        }
      }
      throw new ModelError(502, "provider_unavailable", "no provider answered model " + pinned.id() + ": "
          + String.join("; ", failures));
    }

    /** One provider call: the response headers, or why it failed. */
    private Attempt attempt(ModelConfig.Provider p, ModelConfig.Target t, Endpoint endpoint, ObjectNode body,
        Relay relay) {
      byte[] payload;
      String url;
      if (p.anthropic()) {
        try {
          payload = AnthropicTranslation.request(body, t.model(), p.defaultMaxTokens());
        } catch (AnthropicTranslation.UntranslatableException e) {
          throw ModelError.badRequest("untranslatable_request", "provider " + p.name() + " (Anthropic) cannot take this"
              + " request: " + e.getMessage());
        }
        url = p.url("/messages");
      } else {
        ObjectNode out = body.deepCopy();
        out.put("model", t.model());
        if (relay.stream) {
          out.putObject("stream_options").put("include_usage", true);
        }
        payload = Json.write(out).getBytes(StandardCharsets.UTF_8);
        url = p.url(endpoint == Endpoint.CHAT ? "/chat/completions" : "/embeddings");
      }
      HttpClient client = clients.apply(p.connectTimeout());
      org.eclipse.jetty.client.Request up = client.newRequest(url).method("POST")
          .idleTimeout(p.idleTimeout().toMillis(), TimeUnit.MILLISECONDS)
          .body(new BytesRequestContent("application/json", payload));
      up.headers(h -> {
        p.headers().forEach(h::put);
        if (p.anthropic()) {
          h.put("anthropic-version", "2023-06-01");
          if (p.apiKey() != null) {
            h.put("x-api-key", p.apiKey());
          }
        } else if (p.apiKey() != null) {
          h.put(HttpHeader.AUTHORIZATION, "Bearer " + p.apiKey());
        }
        h.put(HttpHeader.ACCEPT, relay.stream ? "text/event-stream" : "application/json");
      });
      InputStreamResponseListener listener = new InputStreamResponseListener();
      up.send(listener);
      org.eclipse.jetty.client.Response r;
      try {
        r = listener.get(p.firstByteTimeout().toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        up.abort(e);
        return Attempt.failed("no answer within the first-byte timeout of " + p.firstByteTimeout().toMillis() + " ms");
      } catch (ExecutionException e) {
        return Attempt.failed(describe(e.getCause()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        up.abort(e);
        return Attempt.failed("interrupted");
      }
      int status = r.getStatus();
      boolean retryable = status == 429 || status >= 500;
      Attempt a = new Attempt(r, listener.getInputStream(), up, retryable, retryable ? "HTTP " + status : null);
      if (retryable) {
        // Read the error (bounded) so the next provider is tried on a clean slate, or it is relayed.
        a.errorBody = readAll(a.in, 64 * 1024);
      }
      return a;
    }

    /**
     * Counts what the call used where it is counted in memory (the agent request of its session,
     * runaway detection, rate limits, metrics), once. It runs before the answer's last byte goes
     * out, so that an agent that answers as soon as its model call ends finds it counted.
     */
    private Amount account(Relay relay, Outcome outcome) {
      if (charged != null) {
        return charged;
      }
      Usage u = relay.usage();
      boolean known = u.known() && outcome != Outcome.FAILED_UNKNOWN;
      ModelConfig.Price price = relay.provider == null ? ModelConfig.Price.UNKNOWN : relay.provider.price(relay.model);
      long tokens;
      long nano;
      if (outcome == Outcome.FAILED) {
        tokens = 0; // no provider answered: nothing was spent
        nano = 0;
      } else if (known) {
        tokens = Math.max(0, u.promptTokens()) + Math.max(0, u.completionTokens());
        nano = price.known() ? price.nanoUsd(Math.max(0, u.promptTokens()), Math.max(0, u.cachedTokens()),
            Math.max(0, u.completionTokens())) : 0;
      } else {
        // The answer broke off before its usage: charge what was reserved, the call's worst case.
        tokens = asked.tokens();
        nano = asked.nanoUsd();
      }
      charged = new Amount(tokens, nano);
      admission.settle(admission.estimate, tokens);
      if (outcome == Outcome.FAILED) {
        return charged;
      }
      double costUsd = price.known() ? nano / 1e9 : -1;
      ledger.charge(who.version(), session, known ? u.promptTokens() : tokens, known ? u.completionTokens() : 0,
          known ? u.cachedTokens() : 0, costUsd);
      if (session != null) {
        runaway.spent(who.agent(), who.version(), session, tokens, cfg.agent(who.agent()).runaway())
            .ifPresent(this::halted);
      }
      String model = relay.model == null ? "-" : relay.model;
      counter("flightdeck_model_tokens", "agent", who.agent(), "version", who.version(), "model", model, "kind", "prompt")
          .increment(known ? Math.max(0, u.promptTokens()) : 0);
      counter("flightdeck_model_tokens", "agent", who.agent(), "version", who.version(), "model", model, "kind",
          "completion").increment(known ? Math.max(0, u.completionTokens()) : 0);
      if (costUsd > 0) {
        counter("flightdeck_model_cost_usd", "agent", who.agent(), "version", who.version(), "model", model)
            .increment(costUsd);
      }
      return charged;
    }

    /** After the answer: settles the budget reservation with what the call used, and caches the answer. */
    private void settle(BudgetLeases.Held grant, Relay relay, Outcome outcome) {
      Amount used = account(relay, outcome);
      if (grant != null) {
        try {
          leases.settle(grant, used);
        } catch (RuntimeException e) {
          LOG.log(System.Logger.Level.WARNING, "settling a budget reservation failed; the sweeper charges it in full"
              + " when its hold expires: " + e.getMessage());
        }
      }
      count("flightdeck_model_calls", "agent", who.agent(), "version", who.version(), "outcome",
          outcome.name().toLowerCase(Locale.ROOT));
    }

    /** Keeps a complete answer for the agent's later identical or similar calls (before the client sees its end). */
    private void cacheAnswer(Relay relay, Outcome outcome) {
      ModelCache c = cache;
      if (c != null && cacheKey != null && outcome == Outcome.OK && relay.cacheable()) {
        Usage u = relay.usage();
        c.store(cacheKey, cfg.agent(who.agent()).cache(), new ModelCache.Entry(relay.completeBody(),
            Math.max(0, u.promptTokens()), Math.max(0, u.completionTokens()), relay.model));
      }
    }

    private void cached(ModelCache.Hit hit, boolean stream, ObjectNode body, Admission admission) {
      admission.settle(admission.estimate, 0);
      count("flightdeck_model_cache", "agent", who.agent(), "result", hit.semantic() ? "semantic_hit" : "exact_hit");
      counter("flightdeck_model_cache_saved_tokens", "agent", who.agent())
          .increment(hit.entry().promptTokens() + hit.entry().completionTokens());
      ledger.charge(who.version(), session, 0, 0, 0, 0);
      limitHeaders.put("X-Flightdeck-Cache", hit.semantic()
          ? String.format(Locale.ROOT, "semantic-hit; similarity=%.3f", hit.similarity()) : "exact-hit");
      if (stream) {
        respond(200, "text/event-stream", Models.completionAsStream(hit.entry().body(),
            body.path("stream_options").path("include_usage").asBoolean(false)));
      } else {
        respond(200, "application/json", hit.entry().body());
      }
      count("flightdeck_model_calls", "agent", who.agent(), "version", who.version(), "outcome", "cached");
    }

    // ---- responding ----

    void respond(int status, String contentType, byte[] body) {
      headers(status, contentType);
      write(body, true);
      finish(null);
    }

    void headers(int status, String contentType) {
      responded = true;
      resp.setStatus(status);
      var h = resp.getHeaders();
      h.put(HttpHeader.CONTENT_TYPE, contentType);
      limitHeaders.forEach(h::put);
      if (who != null) {
        h.put("X-Flightdeck-Agent", who.agent());
        h.put("X-Flightdeck-Version", who.version());
      }
    }

    /** Writes to the client; false when the client went away. */
    boolean write(byte[] bytes, boolean last) {
      try (Blocker.Callback b = Blocker.callback()) {
        resp.write(last, ByteBuffer.wrap(bytes), b);
        b.block();
        return true;
      } catch (IOException | RuntimeException e) {
        return false;
      }
    }

    void finish(Throwable failure) {
      if (failure == null) {
        callback.succeeded();
      } else {
        callback.failed(failure);
      }
    }

    void error(ModelError e) {
      if (responded) {
        finish(e);
        return;
      }
      if (e.status == 400 || e.status == 413) {
        count("flightdeck_model_rejected", "code", e.code);
      } else if (e.status == 429) {
        count("flightdeck_model_rejected", "code", e.code);
      }
      resp.reset();
      headers(e.status, "application/json");
      resp.getHeaders().put("X-Flightdeck-Error", e.code);
      e.headers.forEach(resp.getHeaders()::put);
      write(e.body(), true);
      finish(null);
    }

    /** Relays one provider answer to the client, translating it when the provider is Anthropic. */
    private final class Relay {
      final boolean stream;
      final boolean clientWantsUsage;
      ModelConfig.Provider provider;
      String model;
      OpenAiStream openAiStream;
      AnthropicTranslation.Stream anthropicStream;
      Usage usage = Usage.NONE;
      byte[] complete;
      boolean clientGone;

      Relay(boolean stream, boolean clientWantsUsage) {
        this.stream = stream;
        this.clientWantsUsage = clientWantsUsage;
      }

      void target(ModelConfig.Provider p, String m) {
        provider = p;
        model = m;
      }

      Usage usage() {
        if (openAiStream != null) {
          return openAiStream.usage();
        }
        if (anthropicStream != null) {
          return anthropicStream.usage();
        }
        return usage;
      }

      boolean cacheable() {
        return !stream && complete != null;
      }

      byte[] completeBody() {
        return complete;
      }

      Outcome deliver(Attempt a) {
        int status = a.response.getStatus();
        if (a.errorBody != null || status >= 300) {
          byte[] err = a.errorBody != null ? a.errorBody : readAll(a.in, 1 << 20);
          if (provider.anthropic()) {
            err = AnthropicTranslation.error(status, err);
          }
          headers(status, "application/json");
          resp.getHeaders().put("X-Flightdeck-Provider", provider.name());
          write(err, true);
          finish(null);
          return Outcome.FAILED;
        }
        if (!stream) {
          byte[] body = readAll(a.in, MAX_RESPONSE);
          if (provider.anthropic()) {
            try {
              body = AnthropicTranslation.response(body, model);
            } catch (IllegalArgumentException e) {
              throw new ModelError(502, "invalid_provider_response", "provider " + provider.name() + ": " + e.getMessage());
            }
          }
          usage = Usage.fromDocument(body, 0, body.length);
          complete = body;
          Outcome outcome = usage.known() ? Outcome.OK : Outcome.FAILED_UNKNOWN;
          account(this, outcome);
          cacheAnswer(this, outcome);
          headers(200, "application/json");
          resp.getHeaders().put("X-Flightdeck-Provider", provider.name());
          write(body, true);
          finish(null);
          return outcome;
        }
        headers(200, "text/event-stream");
        resp.getHeaders().put("X-Flightdeck-Provider", provider.name());
        resp.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        if (provider.anthropic()) {
          anthropicStream = new AnthropicTranslation.Stream(model, clientWantsUsage);
        } else {
          openAiStream = new OpenAiStream(clientWantsUsage);
        }
        byte[] buf = new byte[16 * 1024];
        long drainUntil = 0;
        try {
          int n;
          while ((n = a.in.read(buf)) >= 0) {
            byte[] out = anthropicStream != null ? anthropicStream.feed(buf, 0, n) : openAiStream.feed(buf, 0, n);
            if (anthropicStream != null ? anthropicStream.finished() : openAiStream.done()) {
              account(this, usage().known() ? Outcome.OK : Outcome.FAILED_UNKNOWN); // before the end marker goes out
            }
            if (!clientGone && out.length > 0 && !write(out, false)) {
              clientGone = true;
              drainUntil = System.nanoTime() + DRAIN_AFTER_ABORT.toNanos();
            }
            if (clientGone && System.nanoTime() > drainUntil) {
              a.request.abort(new IOException("the client went away"));
              break;
            }
          }
        } catch (IOException e) {
          if (!clientGone) {
            // The provider broke the stream: the client must see it broken, not a clean end.
            finish(e);
            return Outcome.FAILED_UNKNOWN;
          }
        }
        boolean complete = anthropicStream != null ? anthropicStream.finished() : openAiStream.done();
        if (clientGone) {
          finish(new IOException("the client went away"));
          return usage().known() ? Outcome.ABORTED : Outcome.FAILED_UNKNOWN;
        }
        if (openAiStream != null) {
          write(openAiStream.finish(), false);
        }
        if (!complete) {
          finish(new IOException("the provider's stream ended before its end marker"));
          return usage().known() ? Outcome.ABORTED : Outcome.FAILED_UNKNOWN;
        }
        write(new byte[0], true);
        finish(null);
        return usage().known() ? Outcome.OK : Outcome.FAILED_UNKNOWN;
      }
    }
  }

  /** The chat or the embeddings endpoint. */
  private enum Endpoint { CHAT, EMBEDDINGS }

  /**
   * How a forwarded call ended: answered with usage, failed before any provider answered
   * (nothing spent), failed or cut off without usage (charged at the reservation), or the client
   * went away but the usage came.
   */
  private enum Outcome { OK, FAILED, FAILED_UNKNOWN, ABORTED }

  /** One provider attempt. */
  private static final class Attempt implements AutoCloseable {
    final org.eclipse.jetty.client.Response response;
    final InputStream in;
    final org.eclipse.jetty.client.Request request;
    final boolean retryable;
    final String failure;
    byte[] errorBody;

    Attempt(org.eclipse.jetty.client.Response response, InputStream in, org.eclipse.jetty.client.Request request,
        boolean retryable, String failure) {
      this.response = response;
      this.in = in;
      this.request = request;
      this.retryable = retryable;
      this.failure = failure;
    }

    static Attempt failed(String why) {
      return new Attempt(null, null, null, true, why);
    }

    @Override
    public void close() {
      if (in != null) {
        try {
          in.close();
        } catch (IOException e) {
          LOG.log(System.Logger.Level.DEBUG, "closing a provider answer", e);
        }
      }
    }
  }

  /** The rate limiter windows a call was admitted in, to correct them with its real usage. */
  private final class Admission {
    final long second;
    final List<String> keys = new ArrayList<>(2);
    long estimate;
    boolean settled;

    Admission(long second) {
      this.second = second;
    }

    void settle(long estimated, long actual) {
      settled = true;
      for (String k : keys) {
        rates.settle(k, second, estimated, actual);
      }
    }

    void undoRequests() {
      for (String k : keys) {
        rates.undo(k, second);
      }
    }
  }

  private static RateLimits.Decision tighter(RateLimits.Decision a, RateLimits.Decision b) {
    return Math.min(a.remainingRequests(), a.remainingTokens()) <= Math.min(b.remainingRequests(), b.remainingTokens())
        ? a : b;
  }

  /** OpenAI's rate limit headers for the tightest limit in force. */
  private static void limitHeaders(RateLimits.Decision d, Map<String, String> into) {
    if (d.limitRequests() > 0) {
      into.put("x-ratelimit-limit-requests", Long.toString(d.limitRequests()));
      into.put("x-ratelimit-remaining-requests", Long.toString(d.remainingRequests()));
    }
    if (d.limitTokens() > 0) {
      into.put("x-ratelimit-limit-tokens", Long.toString(d.limitTokens()));
      into.put("x-ratelimit-remaining-tokens", Long.toString(d.remainingTokens()));
    }
  }

  private static byte[] readAll(InputStream in, long max) {
    try {
      byte[] b = in.readNBytes((int) Math.min(max, Integer.MAX_VALUE - 8));
      return b;
    } catch (IOException e) {
      throw new ModelError(502, "provider_reset", "the provider broke off its answer: " + e.getMessage());
    }
  }

  private static String describe(Throwable x) {
    String m = x.getMessage();
    if (x instanceof java.net.ConnectException || (m != null && m.contains("Connection refused"))) {
      return "connection refused";
    }
    if (x instanceof TimeoutException || x instanceof java.net.SocketTimeoutException) {
      return "timed out";
    }
    return x.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

  private static String usd(long nano) {
    return String.format(Locale.ROOT, "$%.6f", nano / 1e9);
  }

  private void count(String name, String... tags) {
    counter(name, tags).increment();
  }

  private Counter counter(String name, String... tags) {
    String key = name + String.join("\u0000", tags);
    return counters.computeIfAbsent(key, k -> Counter.builder(name).tags(tags).register(registry));
  }

  /** Live virtual keys by hash, reloaded when the store's key revision changes. */
  private static final class KeyTable {
    private final Supplier<Map<String, ModelKey>> live;
    private final LongSupplier revision;
    private volatile Map<String, ModelKey> byHash = Map.of();
    private volatile long seen = Long.MIN_VALUE;

    KeyTable(Supplier<Map<String, ModelKey>> live, LongSupplier revision) {
      this.live = live;
      this.revision = revision;
    }

    synchronized void refresh() {
      long r = revision.getAsLong();
      if (r != seen) {
        byHash = Map.copyOf(live.get());
        seen = r;
      }
    }

    ModelKey find(String hash) {
      return byHash.get(hash);
    }
  }

}
