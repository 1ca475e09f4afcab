package dev.flightdeck.gateway;

import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.api.resource.LabelSelector;
import dev.flightdeck.gateway.model.ModelConfig;
import dev.flightdeck.gateway.model.ModelGateway;
import dev.flightdeck.gateway.routing.AgentRoute;
import dev.flightdeck.gateway.routing.RoutingTable;
import dev.flightdeck.gateway.routing.SessionPins;
import dev.flightdeck.gateway.routing.VersionTarget;
import dev.flightdeck.gateway.telemetry.CallLedger;
import dev.flightdeck.gateway.telemetry.GatewayMetrics;
import dev.flightdeck.gateway.telemetry.RequestRecord;
import dev.flightdeck.gateway.telemetry.VersionWindows;
import dev.flightdeck.gateway.telemetry.WindowStats;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.budget.BudgetStore;
import dev.flightdeck.store.gateway.SessionPinStore;
import dev.flightdeck.store.gateway.WindowStore;
import dev.flightdeck.store.resource.ResourceStore;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * The gateway (data plane): serves every Agent at {@code /agents/{name}/} on its own port and
 * routes each request to one of the agent's versions. Routing follows the store: a change
 * committed in this process applies at once, one committed by another replica within
 * {@link #POLL} (the store's revision is polled).
 */
public final class Gateway implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(Gateway.class.getName());
  /** One JSON line per request at DEBUG; off by default. */
  private static final System.Logger ACCESS = System.getLogger("dev.flightdeck.gateway.access");
  /** How often the store's revision is checked for routing changes made by other replicas. */
  public static final Duration POLL = Duration.ofMillis(250);

  private final ResourceStore resources;
  private final WindowStore windowStore;
  private final String replica;
  private final QueuedThreadPool threads;
  private final Scheduler scheduler;
  private final Server server;
  private final ServerConnector connector;
  private final Map<Long, HttpClient> clients = new ConcurrentHashMap<>();
  private final SessionPins pins;
  private final GatewayMetrics metrics;
  private final VersionWindows windows = new VersionWindows();
  private final ShadowMirror shadows;
  private final ScheduledExecutorService background;
  private final AtomicBoolean reloadPending = new AtomicBoolean();
  private final List<Consumer<RequestRecord>> observers = new CopyOnWriteArrayList<>();
  private volatile RoutingTable table = RoutingTable.empty();
  private volatile ModelConfig modelConfig = ModelConfig.EMPTY;
  private final CallLedger ledger = new CallLedger();
  private final ModelGateway models;
  private AutoCloseable commitSubscription;

  /**
   * Starts a gateway.
   *
   * @param replica this replica's name in stored telemetry (host name and port, say)
   */
  public static Gateway start(Database db, ResourceStore resources, MeterRegistry registry, String host, int port,
      String replica) {
    return new Gateway(db, resources, registry, host, port, replica, null);
  }

  /**
   * Starts a gateway that can compare shadow answers by meaning ({@code compare: semantic}).
   *
   * @param semantic gives the similarity model; called once, on the first semantic comparison,
   *     so the model is loaded only when an agent asks for it
   */
  public static Gateway start(Database db, ResourceStore resources, MeterRegistry registry, String host, int port,
      String replica, Supplier<TextSimilarity> semantic) {
    return new Gateway(db, resources, registry, host, port, replica, semantic);
  }

  private Gateway(Database db, ResourceStore resources, MeterRegistry registry, String host, int port, String replica,
      Supplier<TextSimilarity> semantic) {
    this.resources = resources;
    this.windowStore = new WindowStore(db);
    this.replica = replica;
    this.threads = new QueuedThreadPool(Math.max(16, Runtime.getRuntime().availableProcessors() * 8), 4);
    threads.setName("flightdeck-gateway");
    threads.setReservedThreads(0); // on few cores, reserved threads spin and hand off more than they save
    this.scheduler = new ScheduledExecutorScheduler("flightdeck-gateway-scheduler", true);
    // Started here, before the server and the clients that share them: a component that starts a
    // bean also stops it, and one client stopping the pool under the others costs a 5 s join.
    try {
      threads.start();
      scheduler.start();
    } catch (Exception e) {
      throw new IllegalStateException("cannot start the gateway's threads: " + e.getMessage(), e);
    }
    this.server = new Server(threads, scheduler, null);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendDateHeader(false);
    http.setSendXPoweredBy(false);
    this.connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
    connector.setHost(host);
    connector.setPort(port);
    connector.setIdleTimeout(Duration.ofMinutes(5).toMillis());
    connector.setAcceptQueueSize(4096);
    server.addConnector(connector);
    this.pins = new SessionPins(new SessionPinStore(db));
    this.metrics = new GatewayMetrics(registry);
    this.shadows = new ShadowMirror(client(Duration.ofSeconds(2)), metrics, windows, this::recorded, semantic,
        1024, 16);
    this.models = new ModelGateway(() -> modelConfig, new BudgetStore(db, Clock.systemUTC()), ledger, this::client,
        registry, Clock.systemUTC());
    server.setHandler(new GatewayHandler(() -> table, pins, v -> client(v.timeouts().connect()),
        metrics, this::recorded, shadows, new WebSocketBridge(server, client(Duration.ofSeconds(2))), models, ledger));
    server.setStopTimeout(5_000);
    this.background = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
        .name("flightdeck-gateway-background").unstarted(r));
    try {
      reload();
      server.start();
    } catch (Exception e) {
      close();
      throw new IllegalStateException("cannot start the gateway on " + host + ":" + port + ": " + e.getMessage(), e);
    }
    commitSubscription = resources.onCommit(this::reloadSoon);
    background.scheduleWithFixedDelay(this::pollRevision, POLL.toMillis(), POLL.toMillis(), TimeUnit.MILLISECONDS);
    background.scheduleWithFixedDelay(this::housekeeping, 1, 1, TimeUnit.SECONDS);
  }

  /** The port the gateway listens on. */
  public int port() {
    return connector.getLocalPort();
  }

  /** The model gateway served at {@code /v1/}: wire its keys, cache and halt events through it. */
  public ModelGateway models() {
    return models;
  }

  /** The routing table in force. */
  public RoutingTable routing() {
    return table;
  }

  /**
   * A version's telemetry over the last {@code window} (whole seconds, the current one included,
   * at most {@value VersionWindows#SECONDS}), as this replica saw it.
   */
  public WindowStats stats(String version, Duration window) {
    return windows.stats(version, window);
  }

  /**
   * A version's telemetry from second {@code fromEpochSecond} to now, both included, as this
   * replica saw it; only the last {@value VersionWindows#SECONDS} seconds are kept.
   */
  public WindowStats stats(String version, long fromEpochSecond) {
    return windows.stats(version, fromEpochSecond, System.currentTimeMillis() / 1000);
  }

  /** A version's telemetry from second {@code fromEpochSecond} to {@code toEpochSecond}, both included, as this replica saw it. */
  public WindowStats stats(String version, long fromEpochSecond, long toEpochSecond) {
    return windows.stats(version, fromEpochSecond, toEpochSecond);
  }

  /**
   * A version's telemetry over the last {@code window} (whole seconds, the current one included),
   * summed over every replica's stored rows.
   */
  public WindowStats storedStats(String version, Duration window) {
    return storedStats(version, System.currentTimeMillis() / 1000 - Math.max(0, window.toSeconds() - 1));
  }

  /**
   * A version's telemetry from second {@code fromEpochSecond} on, summed over every replica's
   * stored rows (written every 5 seconds, kept an hour).
   */
  public WindowStats storedStats(String version, long fromEpochSecond) {
    return VersionWindows.fromRows(windowStore.read(version, fromEpochSecond));
  }

  /** Writes pending session pins and telemetry to the store now (tests, shutdown). */
  public void flush() {
    pins.flush();
    windows.flush(windowStore, replica);
  }

  /**
   * Calls {@code observer} with the record of every request this replica finishes, primary and
   * shadow, on the thread that finished it: it must be quick and must not block.
   *
   * @return closing it removes the observer
   */
  public AutoCloseable onRequest(Consumer<RequestRecord> observer) {
    observers.add(observer);
    return () -> observers.remove(observer);
  }

  /** Where every finished request's record goes: metrics, windows, access log, observers. */
  private void recorded(RequestRecord r) {
    metrics.record(r);
    if (!r.shadow()) {
      windows.record(r);
    }
    if (ACCESS.isLoggable(System.Logger.Level.DEBUG)) {
      ACCESS.log(System.Logger.Level.DEBUG, r.toJson());
    }
    for (Consumer<RequestRecord> o : observers) {
      try {
        o.accept(r);
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "a request observer failed: " + e);
      }
    }
  }

  /** Mirrors dropped because the shadow queue was full. */
  public long shadowsDropped() {
    return shadows.dropped();
  }

  /** Rebuilds the routing table from the store now. */
  public synchronized void reload() {
    long revision = resources.revision();
    RoutingTable next = RoutingTable.build(revision, resources.list(Kind.AGENT, LabelSelector.everything()),
        resources.list(Kind.AGENT_VERSION, LabelSelector.everything()), table, scheduler);
    table = next;
    modelConfig = ModelConfig.build(revision, resources.list(Kind.AGENT, LabelSelector.everything()),
        resources.list(Kind.AGENT_VERSION, LabelSelector.everything()),
        resources.list(Kind.MODEL_PROVIDER, LabelSelector.everything()),
        resources.list(Kind.BUDGET, LabelSelector.everything()), System::getenv);
  }

  private void reloadSoon() {
    if (reloadPending.compareAndSet(false, true)) {
      background.execute(() -> {
        reloadPending.set(false);
        safely("reloading routing", this::reload);
      });
    }
  }

  private void pollRevision() {
    safely("polling for routing changes", () -> {
      if (resources.revision() != table.revision()) {
        reload();
      }
    });
  }

  private void housekeeping() {
    safely("updating gateway gauges", () -> {
      List<MultiGauge.Row<?>> depth = new ArrayList<>();
      List<MultiGauge.Row<?>> inflight = new ArrayList<>();
      for (AgentRoute a : table.agents().values()) {
        if (a.gate() != null) {
          depth.add(MultiGauge.Row.of(Tags.of("agent", a.name(), "scope", "agent"), a.gate().queued()));
          inflight.add(MultiGauge.Row.of(Tags.of("agent", a.name(), "scope", "agent"), a.gate().inFlight()));
        }
        for (VersionTarget v : a.versions().values()) {
          if (v.gate() != null) {
            depth.add(MultiGauge.Row.of(Tags.of("agent", a.name(), "scope", v.name()), v.gate().queued()));
            inflight.add(MultiGauge.Row.of(Tags.of("agent", a.name(), "scope", v.name()), v.gate().inFlight()));
          }
        }
      }
      metrics.gates(depth, inflight);
    });
    safely("model gateway housekeeping", models::housekeeping);
    if (System.currentTimeMillis() / 1000 % 5 == 0) {
      safely("writing gateway telemetry", () -> windows.flush(windowStore, replica));
      safely("sweeping budget reservations", models::sweepBudgets);
    }
  }

  private HttpClient client(Duration connectTimeout) {
    return clients.computeIfAbsent(connectTimeout.toMillis(), ms -> {
      HttpClient c = new HttpClient();
      c.setExecutor(threads);
      c.setScheduler(scheduler);
      c.setName("flightdeck-gateway-client-" + ms);
      c.setConnectTimeout(ms);
      c.setFollowRedirects(false);
      c.setHttpCookieStore(new HttpCookieStore.Empty());
      c.setUserAgentField(null);
      c.setMaxConnectionsPerDestination(32_768);
      c.setMaxRequestsQueuedPerDestination(32_768);
      c.setIdleTimeout(Duration.ofMinutes(2).toMillis());
      // The gateway's response listeners never block (writes are asynchronous, with demand), so
      // Jetty may run them on the selector thread instead of handing each event to another thread.
      c.getHttpClientTransport().setInvocationType(org.eclipse.jetty.util.thread.Invocable.InvocationType.NON_BLOCKING);
      try {
        c.start();
      } catch (Exception e) {
        throw new IllegalStateException("cannot start the gateway's HTTP client: " + e.getMessage(), e);
      }
      c.getContentDecoderFactories().clear();
      // Redirects, authentication challenges, 100-continue: the client's business, not the
      // gateway's; only the upgrade handler stays, for WebSocket pass-through.
      c.getProtocolHandlers().clear();
      c.getProtocolHandlers().put(new org.eclipse.jetty.client.UpgradeProtocolHandler());
      return c;
    });
  }

  private static void safely(String what, Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, what + " failed: " + e.getMessage());
    }
  }

  @Override
  public void close() {
    if (commitSubscription != null) {
      try {
        commitSubscription.close();
      } catch (Exception e) {
        LOG.log(System.Logger.Level.DEBUG, "removing the commit listener", e);
      }
    }
    background.shutdownNow();
    try {
      server.stop();
    } catch (Exception e) {
      LOG.log(System.Logger.Level.WARNING, "stopping the gateway: " + e.getMessage());
    }
    safely("returning budget leases", models::close);
    shadows.close();
    for (HttpClient c : clients.values()) {
      try {
        c.stop();
      } catch (Exception e) {
        LOG.log(System.Logger.Level.DEBUG, "stopping an HTTP client", e);
      }
    }
    try {
      threads.stop();
      scheduler.stop();
    } catch (Exception e) {
      LOG.log(System.Logger.Level.DEBUG, "stopping the gateway's threads", e);
    }
    safely("writing session pins and telemetry", this::flush);
    pins.close();
  }
}
