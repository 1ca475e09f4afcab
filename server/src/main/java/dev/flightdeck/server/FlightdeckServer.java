package dev.flightdeck.server;

import dev.flightdeck.embeddings.MiniLm;
import dev.flightdeck.gateway.Gateway;
import dev.flightdeck.eval.run.EvalRunner;
import dev.flightdeck.rollout.controller.Notifier;
import dev.flightdeck.rollout.controller.RolloutController;
import dev.flightdeck.server.eval.EvalScheduler;
import dev.flightdeck.server.rollout.RolloutWiring;
import dev.flightdeck.store.rollout.RolloutStore;
import java.time.Duration;
import dev.flightdeck.store.eval.EvalRunStore;
import dev.flightdeck.server.http.ApiServer;
import dev.flightdeck.server.observability.ServerMetrics;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.audit.AuditLog;
import dev.flightdeck.store.key.ModelKeyStore;
import dev.flightdeck.gateway.model.ModelCache;
import dev.flightdeck.gateway.model.ModelGateway;
import dev.flightdeck.api.audit.AuditEvent;
import dev.flightdeck.api.resource.Json;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.store.resource.ResourceStore;
import dev.flightdeck.store.token.IssuedToken;
import dev.flightdeck.store.token.TokenStore;
import java.time.Clock;
import java.util.Optional;

/**
 * One Flightdeck process with the api, gateway and controller roles: opens the store, issues the
 * first admin token on first start, serves the API, serves agents through the gateway on its own
 * port, runs scheduled evals and drives rollouts.
 */
public final class FlightdeckServer implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(FlightdeckServer.class.getName());

  private final Database db;
  private final AuditLog audit;
  private final ResourceStore resources;
  private final TokenStore tokens;
  private final ModelKeyStore modelKeys;
  /** Memory the model gateway's response cache may use for answers. */
  private static final long MODEL_CACHE_BYTES = 256L << 20;
  private final ServerMetrics metrics;
  private final ApiServer api;
  private final Gateway gateway;
  private final EvalScheduler evals;
  private final java.util.concurrent.atomic.AtomicReference<RolloutController> rollouts =
      new java.util.concurrent.atomic.AtomicReference<>();
  private final Optional<IssuedToken> initialAdmin;
  private final String host;
  private final int port;

  private FlightdeckServer(ServerOptions options) {
    Clock clock = Clock.systemUTC();
    this.metrics = new ServerMetrics();
    this.db = Database.open(options.databaseUrl(), options.dataDir());
    try {
      db.onTiming(metrics::storeOperation);
      this.audit = AuditLogs.open(db, options.dataDir());
      this.resources = new ResourceStore(db, audit, clock);
      this.tokens = new TokenStore(db, audit, clock);
      this.modelKeys = new ModelKeyStore(db, audit, clock);
      this.initialAdmin = tokens.bootstrapAdmin();
      this.api = new ApiServer(db, resources, tokens, modelKeys, audit, metrics, () -> Optional.ofNullable(rollouts.get()));
      this.host = options.host();
      this.port = api.start(options.host(), options.port());
      try {
        this.gateway = options.gatewayPort() < 0 ? null : Gateway.start(db, resources, metrics.registry(),
            options.host(), options.gatewayPort(), options.host() + ":" + port,
            // MiniLM loads on the first semantic shadow comparison, never before.
            () -> MiniLm.shared()::similarity);
        if (gateway != null) {
          wireModelGateway(gateway.models(), clock);
        }
      } catch (RuntimeException e) {
        api.close();
        throw e;
      }
      this.evals = EvalScheduler.start(resources, new EvalRunStore(db), metrics.registry(), host + ":" + port,
          gatewayUrl());
      rollouts.set(RolloutController.start(resources, new RolloutStore(db, audit),
          RolloutWiring.telemetry(db, Optional.ofNullable(gateway)), RolloutWiring.evalGates(resources, evals),
          Notifier.webhooks(EvalRunner.defaultClient(Duration.ofSeconds(5))), clock));
    } catch (RuntimeException e) {
      db.close();
      throw e;
    }
    LOG.log(System.Logger.Level.INFO, "Flightdeck API listening on {0} ({1})", url(), db.description());
    if (gateway != null) {
      LOG.log(System.Logger.Level.INFO, "Flightdeck gateway serving agents on {0}/agents/'{name}'/", gatewayUrl().orElseThrow());
    }
  }

  /** Gives the model gateway its virtual keys, its cache (MiniLM loads on the first semantic lookup) and halt events. */
  private void wireModelGateway(ModelGateway models, Clock clock) {
    models.useKeys(modelKeys::liveByHash, modelKeys::revision);
    models.useCache(new ModelCache(text -> MiniLm.shared().embed(text), MODEL_CACHE_BYTES, clock));
    models.onHalt(h -> {
      ObjectNode details = Json.object().put("agent", h.agent()).put("version", h.version())
          .put("session", h.session()).put("reason", h.reason());
      audit.append(new AuditEvent("system:model-gateway", "session.halt", "agentversion/" + h.version(),
          Optional.empty(), Optional.empty(), Json.write(details)));
    });
  }

  /** Starts a server; it runs until {@link #close()}. */
  public static FlightdeckServer start(ServerOptions options) {
    return new FlightdeckServer(options);
  }

  /** The port the API listens on. */
  public int port() {
    return port;
  }

  /** The API's base URL, e.g. {@code http://127.0.0.1:7070}. */
  public String url() {
    return url(port);
  }

  /** The gateway's base URL, e.g. {@code http://127.0.0.1:7080}, when it runs. */
  public Optional<String> gatewayUrl() {
    return gateway == null ? Optional.empty() : Optional.of(url(gateway.port()));
  }

  /** The gateway, when this process runs one. */
  public Optional<Gateway> gateway() {
    return Optional.ofNullable(gateway);
  }

  private String url(int p) {
    String h = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
    return "http://" + (h.contains(":") ? "[" + h + "]" : h) + ":" + p;
  }

  /** The admin token issued at this first start, if this was the first start. Shown once. */
  public Optional<IssuedToken> initialAdminToken() {
    return initialAdmin;
  }

  /** The resource store (for embedding and tests). */
  public ResourceStore resources() {
    return resources;
  }

  /** The token store (for embedding and tests). */
  public TokenStore tokens() {
    return tokens;
  }

  /** The agent versions' virtual model keys (for the gateway, embedding and tests). */
  public ModelKeyStore modelKeys() {
    return modelKeys;
  }

  /** The audit log (for embedding and tests). */
  public AuditLog audit() {
    return audit;
  }

  /** The rollout controller (for embedding and tests). */
  public RolloutController rollouts() {
    return rollouts.get();
  }

  /** The database (for embedding and tests). */
  public Database database() {
    return db;
  }

  /** The API's routes as {@code METHOD path}. */
  public java.util.List<String> routes() {
    return api.routes();
  }

  @Override
  public void close() {
    if (rollouts.get() != null) {
      rollouts.get().close();
    }
    evals.close();
    if (gateway != null) {
      gateway.close();
    }
    api.close();
    audit.close();
    db.close();
    metrics.close();
  }
}
