package dev.flightdeck.server.eval;

import com.cronutils.model.time.ExecutionTime;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.parse.ParsedResource;
import dev.flightdeck.api.parse.SourceMap;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.api.resource.LabelSelector;
import dev.flightdeck.api.resource.Resource;
import dev.flightdeck.api.resource.Schedules;
import dev.flightdeck.embeddings.MiniLm;
import dev.flightdeck.eval.assertion.AssertionContext;
import dev.flightdeck.eval.assertion.Judge;
import dev.flightdeck.eval.report.EvalReport;
import dev.flightdeck.eval.run.EvalRunner;
import dev.flightdeck.eval.run.Progress;
import dev.flightdeck.eval.run.Target;
import dev.flightdeck.eval.suite.Suite;
import dev.flightdeck.eval.suite.SuiteCompiler;
import dev.flightdeck.store.eval.EvalRunStore;
import dev.flightdeck.store.resource.ResourceStore;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Health evals: runs every EvalSuite that has a {@code schedule} against its live target, stores
 * each result, exports it as metrics, and posts a notification when pass@1 drops below the
 * suite's limit. Each scheduled slot is claimed in the store first, so with several replicas on
 * one database a slot runs once. A suite whose previous run is still going skips a slot.
 */
public final class EvalScheduler implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(EvalScheduler.class.getName());

  private final ResourceStore resources;
  private final EvalRunStore runs;
  private final MeterRegistry registry;
  private final String replica;
  private final Optional<String> gatewayUrl;
  private final Clock clock;
  private final HttpClient http = EvalRunner.defaultClient(Duration.ofSeconds(5));
  private final Map<String, Slot> slots = new ConcurrentHashMap<>();
  private final Map<String, AtomicReference<Double>> passRates = new ConcurrentHashMap<>();
  private final Set<String> running = ConcurrentHashMap.newKeySet();
  private final Thread ticker;
  private volatile boolean closed;

  /** The schedule of one suite: its spec digest (a changed schedule restarts it) and next fire time. */
  private record Slot(String digest, ExecutionTime schedule, ZonedDateTime next) {}

  private EvalScheduler(ResourceStore resources, EvalRunStore runs, MeterRegistry registry, String replica,
      Optional<String> gatewayUrl, Clock clock) {
    this.resources = resources;
    this.runs = runs;
    this.registry = registry;
    this.replica = replica;
    this.gatewayUrl = gatewayUrl;
    this.clock = clock;
    this.ticker = Thread.ofVirtual().name("flightdeck-eval-scheduler").unstarted(this::loop);
  }

  /** Starts the scheduler; agent/NAME targets go through {@code gatewayUrl} when a gateway runs here. */
  public static EvalScheduler start(ResourceStore resources, EvalRunStore runs, MeterRegistry registry,
      String replica, Optional<String> gatewayUrl) {
    EvalScheduler s = new EvalScheduler(resources, runs, registry, replica, gatewayUrl, Clock.systemUTC());
    s.ticker.start();
    return s;
  }

  private void loop() {
    while (!closed) {
      try {
        tick();
        Thread.sleep(250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "eval scheduler: " + e.getMessage(), e);
      }
    }
  }

  private void tick() {
    ZonedDateTime now = ZonedDateTime.now(clock);
    Set<String> seen = new java.util.HashSet<>();
    for (Resource r : resources.list(Kind.EVAL_SUITE, LabelSelector.everything())) {
      if (!r.spec().path("schedule").isTextual()) {
        continue;
      }
      String name = r.name();
      seen.add(name);
      String digest = r.specDigest();
      Slot slot = slots.get(name);
      if (slot == null || !slot.digest().equals(digest)) {
        try {
          ExecutionTime schedule = Schedules.parse(r.spec().get("schedule").asText());
          Schedules.next(schedule, now).ifPresent(n -> slots.put(name, new Slot(digest, schedule, n)));
        } catch (IllegalArgumentException e) {
          slots.remove(name);
        }
        continue;
      }
      if (now.isBefore(slot.next())) {
        continue;
      }
      long at = slot.next().toInstant().toEpochMilli();
      Schedules.next(slot.schedule(), now).ifPresentOrElse(n -> slots.put(name, new Slot(digest, slot.schedule(), n)),
          () -> slots.remove(name));
      if (!running.add(name)) {
        continue; // the previous run is still going: skip this slot
      }
      if (!runs.claim(name, at, replica)) {
        running.remove(name);
        continue;
      }
      Thread.ofVirtual().name("flightdeck-eval-" + name).start(() -> {
        try {
          runOnce(r, at);
        } finally {
          running.remove(name);
        }
      });
    }
    slots.keySet().retainAll(seen);
  }

  private void runOnce(Resource r, long scheduledAt) {
    String name = r.name();
    try {
      EvalReport report = run(r, Optional.empty());
      Suite suite = compile(r);
      var s = report.summary();
      boolean passed = report.gate().passed() && !report.unreachable();
      runs.finish(name, scheduledAt, passed ? "passed" : "failed", clock.millis(), s.pass1(), s.clusteredCi().low(),
          s.clusteredCi().high(), (int) s.runs(), passed, Json.write(summary(report)));
      record(name, passed, s.pass1());
      double below = suite.notification().flatMap(n -> n.below().isPresent()
          ? Optional.of(n.below().getAsDouble()) : Optional.empty()).orElse(suite.threshold().orElse(1.0));
      if (s.pass1() < below || report.unreachable()) {
        suite.notification().flatMap(Suite.Notify::webhook).ifPresent(url -> notify(url, report, below));
      }
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "scheduled eval " + name + " failed: " + e.getMessage());
      runs.finish(name, scheduledAt, "error", clock.millis(), 0, 0, 0, 0, false,
          Json.write(Json.object().put("error", String.valueOf(e.getMessage()))));
      record(name, false, 0);
    }
  }

  /**
   * Runs a stored EvalSuite once, against {@code target} ({@code agent/NAME},
   * {@code agentversion/NAME} or a URL) or else the suite's own {@code spec.target}; the rollout
   * controller's evalGate steps run suites this way too.
   */
  public EvalReport run(Resource r, Optional<String> target) {
    Suite suite = compile(r);
    Target t = target(target.or(suite::target).orElseThrow(() -> new IllegalArgumentException(
        "evalsuite/" + r.name() + " has no spec.target")));
    Optional<Judge> judge = suite.judge().map(j -> new Judge(j, http, Judge.Cache.inMemory()));
    try (EvalRunner runner = new EvalRunner(new AssertionContext((a, b) -> MiniLm.shared().similarity(a, b), judge),
        Optional.empty(), Progress.NONE)) {
      return EvalReport.build(suite, t.id(), runner.run(suite, t), Optional.empty());
    }
  }

  private static Suite compile(Resource r) {
    return SuiteCompiler.standard().compile(new ParsedResource(r, SourceMap.none("evalsuite/" + r.name())), Path.of("."));
  }

  private void record(String suite, boolean passed, double pass1) {
    passRates.computeIfAbsent(suite, s -> {
      AtomicReference<Double> ref = new AtomicReference<>(0.0);
      Gauge.builder("flightdeck_eval_pass_rate", ref, AtomicReference::get)
          .description("pass@1 of the latest scheduled run of an eval suite").tag("suite", s).register(registry);
      return ref;
    }).set(pass1);
    registry.counter("flightdeck_eval_scheduled_runs", "suite", suite, "result", passed ? "passed" : "failed").increment();
  }

  private Target target(String t) {
    return Target.resolve(t,
        () -> gatewayUrl.orElseThrow(() -> new IllegalArgumentException(
            "target " + t + " needs the gateway, which this server does not run")),
        name -> resources.get(Kind.AGENT_VERSION, name).orElseThrow(() -> new IllegalArgumentException(
            "no agentversion/" + name)).spec());
  }

  /** The figures of a report that are stored and sent: pass@1, its interval, the gate, failing cases. */
  public static ObjectNode summary(EvalReport r) {
    var s = r.summary();
    ObjectNode o = Json.object();
    o.put("suite", r.suite()).put("target", r.target()).put("pass1", s.pass1()).put("runs", s.runs())
        .put("cases", s.cases()).put("gatePassed", r.gate().passed()).put("unreachable", r.unreachable());
    o.putObject("ci").put("low", s.clusteredCi().low()).put("high", s.clusteredCi().high());
    ArrayNode failing = o.putArray("failingCases");
    r.cases().stream().filter(c -> !c.passed()).limit(20).forEach(c -> failing.add(c.name()));
    return o;
  }

  private void notify(URI url, EvalReport report, double below) {
    ObjectNode body = summary(report);
    body.put("below", below);
    body.put("text", String.format(Locale.ROOT, "Flightdeck health eval %s: pass@1 %.3f (95%% CI %.3f–%.3f) is below "
        + "%.3f against %s%s", report.suite(), report.summary().pass1(), report.summary().clusteredCi().low(),
        report.summary().clusteredCi().high(), below, report.target(), report.unreachable() ? " (unreachable)" : ""));
    try {
      HttpResponse<Void> res = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
          HttpResponse.BodyHandlers.discarding());
      if (res.statusCode() >= 300) {
        LOG.log(System.Logger.Level.WARNING, "eval webhook for " + report.suite() + " answered HTTP " + res.statusCode());
      }
    } catch (java.io.IOException e) {
      LOG.log(System.Logger.Level.WARNING, "eval webhook for " + report.suite() + " failed: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    closed = true;
    ticker.interrupt();
  }
}
