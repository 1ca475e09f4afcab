package dev.flightdeck.rollout.controller;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.ConflictException;
import dev.flightdeck.api.NotFoundException;
import dev.flightdeck.api.audit.AuditEvent;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.auth.Role;
import dev.flightdeck.api.parse.ParsedResource;
import dev.flightdeck.api.parse.SourceMap;
import dev.flightdeck.api.resource.Durations;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.api.resource.LabelSelector;
import dev.flightdeck.api.resource.Resource;
import dev.flightdeck.rollout.analysis.Analysis;
import dev.flightdeck.rollout.analysis.AnalysisSpec;
import dev.flightdeck.rollout.analysis.ThresholdPolicy;
import dev.flightdeck.rollout.analysis.Verdict;
import dev.flightdeck.rollout.plan.Plan;
import dev.flightdeck.rollout.plan.Step;
import dev.flightdeck.store.StoreException;
import dev.flightdeck.store.resource.ResourceStore;
import dev.flightdeck.store.rollout.RolloutStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Drives every Rollout from its stored state, idempotently: each tick reads the Rollout, its
 * stored state and the telemetry, decides at most one transition per rollout, stores it (state,
 * decision with evidence and audit entry in one transaction, only if the state is still the one
 * it read), and then makes the Agent's routing match the stored state. A crash at any point
 * leaves either the old state or the new one, and the next tick (in this process or after a
 * restart) carries on from it; routing that lags behind a stored state is corrected on the next
 * tick. Manual verbs ({@link #command}) are transitions too.
 *
 * <p>Replicas may all run a controller: the stored state's sequence number makes a transition
 * apply once, and routing writes are idempotent.
 */
public final class RolloutController implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(RolloutController.class.getName());

  /** How often rollouts are reconciled. */
  public static final Duration TICK = Duration.ofMillis(250);
  /** Who the controller's own decisions and routing changes are attributed to. */
  public static final Principal SYSTEM = new Principal("system:rollout-controller", Role.ADMIN);
  /** Prefix of the Agent rules the controller manages. */
  static final String RULE_PREFIX = "rollout-";

  private final ResourceStore resources;
  private final RolloutStore store;
  private final Telemetry telemetry;
  private final EvalGates evals;
  private final Notifier notifier;
  private final Clock clock;
  private final ScheduledExecutorService ticker;
  private final Map<String, Future<EvalGates.Outcome>> evalRuns = new ConcurrentHashMap<>();
  private final Map<String, Live> live = new ConcurrentHashMap<>();

  /** The latest evaluation of a rollout's current analysis, for status. */
  private record Live(String key, long since, Optional<Long> deadline, Analysis.Result result) {}

  private RolloutController(ResourceStore resources, RolloutStore store, Telemetry telemetry, EvalGates evals,
      Notifier notifier, Clock clock, boolean run) {
    this.resources = resources;
    this.store = store;
    this.telemetry = telemetry;
    this.evals = evals;
    this.notifier = notifier;
    this.clock = clock;
    this.ticker = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
        .name("flightdeck-rollouts").unstarted(r));
    if (run) {
      ticker.scheduleWithFixedDelay(this::tickSafely, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Starts a controller that reconciles every {@link #TICK}. */
  public static RolloutController start(ResourceStore resources, RolloutStore store, Telemetry telemetry,
      EvalGates evals, Notifier notifier, Clock clock) {
    return new RolloutController(resources, store, telemetry, evals, notifier, clock, true);
  }

  /** A controller that reconciles only when {@link #reconcileAll()} is called (tests). */
  public static RolloutController manual(ResourceStore resources, RolloutStore store, Telemetry telemetry,
      EvalGates evals, Notifier notifier, Clock clock) {
    return new RolloutController(resources, store, telemetry, evals, notifier, clock, false);
  }

  private void tickSafely() {
    try {
      reconcileAll();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "reconciling rollouts failed: " + e.getMessage(), e);
    }
  }

  /** Reconciles every rollout once. */
  public void reconcileAll() {
    Set<String> seen = new HashSet<>();
    for (Resource r : resources.list(Kind.ROLLOUT, LabelSelector.everything())) {
      seen.add(r.name());
      try {
        reconcile(r);
      } catch (StoreException | ConflictException e) {
        LOG.log(System.Logger.Level.DEBUG, "rollout " + r.name() + ": " + e.getMessage());
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "rollout " + r.name() + ": " + e.getMessage(), e);
      }
    }
    for (RolloutStore.Stored s : store.list()) {
      if (!seen.contains(s.name())) {
        deleted(s);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reconciling

  private void reconcile(Resource r) {
    String name = r.name();
    Plan plan;
    try {
      plan = Plan.of(r);
    } catch (Plan.InvalidPlanException e) {
      LOG.log(System.Logger.Level.WARNING, "rollout " + name + " cannot be planned: " + e.getMessage());
      return;
    }
    Optional<RolloutStore.Stored> stored = store.get(name);
    if (stored.isEmpty() || !RolloutState.fromJson(stored.get().state()).uid().equals(uid(r))) {
      begin(r, plan, stored, 1, "started");
      return;
    }
    RolloutStore.Stored cur = stored.get();
    RolloutState s = RolloutState.fromJson(cur.state());
    if (s.generation() != r.metadata().resourceVersion()) {
      String candidate = r.spec().path("candidate").asText();
      // A new candidate, or any change to a rollout that is over, is a new rollout (as in Argo
      // Rollouts); a change under way to the same candidate carries on with the new steps.
      if (!candidate.equals(s.candidate()) || s.phase().terminal()) {
        begin(r, plan, stored, s.attempt() + 1, "restarted");
        return;
      }
      int clamped = Math.min(s.step(), plan.steps().size());
      transition(cur, s.withGeneration(r.metadata().resourceVersion(), clamped), SYSTEM, "spec-updated",
          "the Rollout changed (resourceVersion " + r.metadata().resourceVersion() + "); carrying on at step " + clamped,
          null);
      return;
    }
    if (s.phase() == Phase.Progressing) {
      advance(r, plan, cur, s);
    }
    // Re-read: the transition above (if any) is the state routing must follow. While a rollout is
    // under way the controller owns the agent's routing; once it is over, routing is written once
    // (marked in the store) so that later changes to the Agent by people stand.
    store.get(name).ifPresent(x -> {
      RolloutState st = RolloutState.fromJson(x.state());
      if (st.phase().active() || x.routedSeq() < x.seq()) {
        ensureRouting(st, plan);
        if (x.routedSeq() < x.seq()) {
          store.markRouted(name, x.seq());
        }
      }
    });
  }

  /** Starts (or restarts) a rollout from the Agent's current routing. */
  private void begin(Resource r, Plan plan, Optional<RolloutStore.Stored> stored, int attempt, String action) {
    String name = r.name();
    String agentName = r.spec().path("agent").asText();
    String candidate = r.spec().path("candidate").asText();
    Resource agent = resources.get(Kind.AGENT, agentName).orElse(null);
    if (agent == null) {
      return; // references are checked at apply; the agent was deleted since: nothing to roll out
    }
    long now = clock.millis();
    Optional<RolloutState> previous = stored.map(x -> RolloutState.fromJson(x.state()));
    // While a rollout of another candidate is under way, its stable stays the stable.
    String stable = previous.filter(p -> p.phase().active()).map(RolloutState::stable)
        .orElseGet(() -> primary(agent.spec(), candidate));
    RolloutState s = new RolloutState(uid(r), r.metadata().resourceVersion(), agentName, stable == null ? "" : stable,
        candidate, Phase.Progressing, attempt, 0, now, 0, List.of(), "", "", 0, Json.object(), 0, "", 0);
    String reason = stable == null
        ? candidate + " is the only version serving " + agentName + "; nothing to compare with"
        : "rolling " + agentName + " from " + stable + " to " + candidate + " by " + plan.strategy();
    RolloutStore.Stored cur = stored.orElse(null);
    if (stable == null || stable.equals(candidate)) {
      s = s.finish(Phase.Promoted, now, 0, reason);
      transition(name, cur, s, SYSTEM, "promoted", stable == null ? reason : candidate + " already serves every new session", null);
      return;
    }
    transition(name, cur, s, SYSTEM, action, reason, null);
  }

  /** The version that serves most new sessions of an agent, other than the candidate. */
  private static String primary(JsonNode agentSpec, String candidate) {
    String best = null;
    int bestWeight = -1;
    for (JsonNode route : agentSpec.path("routes")) {
      String v = route.path("version").asText();
      int w = route.path("weight").asInt();
      if (!v.equals(candidate) && w > bestWeight) {
        best = v;
        bestWeight = w;
      }
    }
    return best;
  }

  private void advance(Resource r, Plan plan, RolloutStore.Stored cur, RolloutState s) {
    String name = r.name();
    long now = clock.millis();
    Principal me = SYSTEM;
    if (plan.background().isPresent() && s.backgroundSince() > 0) {
      AnalysisSpec bg = plan.background().get();
      Optional<Analysis.Result> verdict = analyse(name, "background", bg, s, s.backgroundSince(), cur);
      if (verdict.isEmpty()) {
        return; // a threshold-mode check was stored
      }
      if (verdict.get().verdict() == Verdict.FAIL) {
        rollback(cur, s, plan, me, "background analysis failed: " + verdict.get().summary(), verdict.get().toJson());
        return;
      }
    }
    if (s.step() >= plan.steps().size()) {
      finish(cur, s, plan, Phase.Promoted, me, "promoted", "every step passed; " + s.candidate() + " serves every new session", null);
      return;
    }
    Step step = plan.steps().get(s.step());
    String at = "step " + (s.step() + 1) + "/" + plan.steps().size() + " (" + step.summary() + ")";
    switch (step) {
      case Step.SetWeight w -> completeStep(cur, s, plan, me, at + ": " + w.percent() + "% of new sessions to "
          + s.candidate(), null);
      case Step.Route route -> completeStep(cur, s, plan, me, at + ": matching requests to " + s.candidate(), null);
      case Step.Pause p -> {
        if (p.duration().isEmpty()) {
          transition(cur, s.withPhase(Phase.Paused, "step", at + ": waiting for promote"), me, "paused",
              at + ": waiting for promote", null);
        } else if (now >= s.stepStartedAt() + p.duration().get().toMillis()) {
          completeStep(cur, s, plan, me, at + ": waited " + Durations.format(p.duration().get()), null);
        }
      }
      case Step.Shadow sh -> {
        if (now >= s.stepStartedAt() + sh.duration().toMillis()) {
          completeStep(cur, s, plan, me, at + ": mirrored " + sh.percent() + "% of requests for "
              + Durations.format(sh.duration()), null);
        }
      }
      case Step.Analyze a -> {
        Optional<Analysis.Result> result = analyse(name, "step", a.spec(), s, s.stepStartedAt(), cur);
        if (result.isEmpty()) {
          return;
        }
        Analysis.Result res = result.get();
        if (res.verdict() == Verdict.PASS) {
          completeStep(cur, s, plan, me, at + " passed: " + res.summary(), res.toJson());
        } else if (res.verdict() == Verdict.FAIL) {
          rollback(cur, s, plan, me, at + " failed: " + res.summary(), res.toJson());
        } else if (a.spec().deadline().isPresent() && now >= s.stepStartedAt() + a.spec().deadline().get().toMillis()) {
          inconclusive(cur, s, plan, me, at + " inconclusive after " + Durations.format(a.spec().deadline().get())
              + ": " + res.summary(), res.toJson());
        }
      }
      case Step.EvalGate g -> evalGate(cur, s, plan, me, g, at);
    }
  }

  /**
   * Evaluates an analysis: sequential on everything since {@code since}; threshold mode checks
   * the last interval when one is due and stores its bookkeeping (then returns empty).
   */
  private Optional<Analysis.Result> analyse(String name, String key, AnalysisSpec spec, RolloutState s, long since,
      RolloutStore.Stored cur) {
    long now = clock.millis();
    Optional<Long> deadline = spec.deadline().map(d -> since + d.toMillis());
    if (spec.mode() == AnalysisSpec.Mode.SEQUENTIAL) {
      Analysis.Result res = Analysis.evaluate(spec, telemetry.since(s.stable(), since), telemetry.since(s.candidate(), since));
      live.put(name, new Live(key, since, deadline, res));
      return Optional.of(res);
    }
    ThresholdPolicy policy = ThresholdPolicy.fromJson(s.analysis().get(key), since);
    if (!policy.due(spec, now)) {
      Verdict v = policy.verdict(spec);
      Live l = live.get(name);
      return Optional.of(l != null && l.key().equals(key) ? withVerdict(l.result(), v)
          : new Analysis.Result(v, spec.mode(), spec.alpha(), List.of()));
    }
    Analysis.Result check = Analysis.check(spec, telemetry.between(s.stable(), policy.lastCheckMillis(), now),
        telemetry.between(s.candidate(), policy.lastCheckMillis(), now));
    ThresholdPolicy next = policy.record(check, now);
    Analysis.Result res = withVerdict(check, next.verdict(spec));
    live.put(name, new Live(key, since, deadline, res));
    if (res.verdict() != Verdict.WAIT) {
      return Optional.of(res);
    }
    ObjectNode evidence = check.toJson();
    evidence.set("threshold", next.toJson());
    transition(cur, s.withAnalysis(key, next.toJson(), key + " analysis: " + next.failures() + " of " + next.checks()
        + " checks failed"), SYSTEM, "analysis.check", key + " analysis check " + next.checks() + ": "
        + check.verdict().id() + " (" + next.failures() + "/" + spec.failureLimit() + " failures allowed before rollback)",
        evidence);
    return Optional.empty();
  }

  private static Analysis.Result withVerdict(Analysis.Result r, Verdict v) {
    return new Analysis.Result(v, r.mode(), r.alpha(), r.metrics());
  }

  private void evalGate(RolloutStore.Stored cur, RolloutState s, Plan plan, Principal me, Step.EvalGate g, String at) {
    String key = s.uid() + "/" + s.attempt() + "/" + s.step() + "/" + g.suite();
    Future<EvalGates.Outcome> run = evalRuns.computeIfAbsent(key, k -> {
      java.util.concurrent.CompletableFuture<EvalGates.Outcome> f = new java.util.concurrent.CompletableFuture<>();
      Thread.ofVirtual().name("flightdeck-evalgate-" + g.suite()).start(() -> {
        try {
          f.complete(evals.run(g.suite(), s.candidate()));
        } catch (RuntimeException e) {
          f.complete(new EvalGates.Outcome(Verdict.WAIT, "the eval run failed: " + e.getMessage(), Json.object()));
        }
      });
      return f;
    });
    if (!run.isDone()) {
      return;
    }
    EvalGates.Outcome o = run.resultNow();
    evalRuns.remove(key);
    switch (o.verdict()) {
      case PASS -> completeStep(cur, s, plan, me, at + " passed: " + o.reason(), o.evidence());
      case FAIL -> rollback(cur, s, plan, me, at + " failed: " + o.reason(), o.evidence());
      case WAIT -> inconclusive(cur, s, plan, me, at + " inconclusive: " + o.reason(), o.evidence());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Transitions

  private boolean completeStep(RolloutStore.Stored cur, RolloutState s, Plan plan, Principal who, String reason,
      ObjectNode evidence) {
    long now = clock.millis();
    Step step = plan.steps().get(s.step());
    int weight = step instanceof Step.SetWeight w ? w.percent() : s.weight();
    List<ObjectNode> rules = new ArrayList<>(s.rules());
    if (step instanceof Step.Route route) {
      for (ObjectNode rule : route.rules()) {
        rules.removeIf(x -> x.path("name").asText().equals(rule.path("name").asText()));
        rules.add(rule);
      }
    }
    boolean traffic = weight > 0 || !rules.isEmpty();
    long background = s.backgroundSince() == 0 && traffic && plan.background().isPresent() ? now : s.backgroundSince();
    return transition(cur, s.nextStep(now, weight, rules, background, reason), who, "step.completed", reason, evidence);
  }

  private void rollback(RolloutStore.Stored cur, RolloutState s, Plan plan, Principal who, String reason,
      ObjectNode evidence) {
    finish(cur, s, plan, Phase.RolledBack, who, "rolled-back", reason, evidence);
  }

  private void inconclusive(RolloutStore.Stored cur, RolloutState s, Plan plan, Principal who, String reason,
      ObjectNode evidence) {
    if (plan.rollbackOnInconclusive()) {
      rollback(cur, s, plan, who, reason + " (onInconclusive: rollback)", evidence);
    } else {
      transition(cur, s.withPhase(Phase.Paused, "inconclusive", reason), who, "inconclusive",
          reason + " (onInconclusive: pause; promote, resume to analyse again, or abort)", evidence);
    }
  }

  private void finish(RolloutStore.Stored cur, RolloutState s, Plan plan, Phase phase, Principal who, String action,
      String reason, ObjectNode evidence) {
    transition(cur, s.finish(phase, clock.millis(), drainFor(plan, s), reason), who, action, reason, evidence);
  }

  private long sessionTtl(String agent) {
    return resources.get(Kind.AGENT, agent)
        .map(a -> Durations.parse(a.spec().path("session").path("ttl").asText(null), Duration.ofHours(24)).toMillis())
        .orElse(Duration.ofHours(24).toMillis());
  }

  /**
   * Stores a transition and, when it applied, brings the routing in line and announces it.
   *
   * @return whether it applied (false: the state changed since {@code cur} was read)
   */
  private boolean transition(RolloutStore.Stored cur, RolloutState next, Principal who, String action, String reason,
      ObjectNode evidence) {
    return transition(cur.name(), cur, next, who, action, reason, evidence);
  }

  private boolean transition(String name, RolloutStore.Stored cur, RolloutState next, Principal who, String action,
      String reason, ObjectNode evidence) {
    long now = clock.millis();
    ObjectNode details = Json.object().put("attempt", next.attempt())
        .put("step", action.equals("step.completed") ? next.step() - 1 : next.step())
        .put("phase", next.phase().name()).put("reason", reason);
    if (evidence != null) {
      details.set("evidence", evidence);
    }
    Optional<Long> seq = store.transition(name, cur == null ? 0 : cur.seq(), next.toJson(),
        // A decision names the step it is about: the completed one, or the one the rollout is at.
        new RolloutStore.Decision(name, 0, now, who.name(), action, next.attempt(),
            action.equals("step.completed") ? next.step() - 1 : next.step(), next.phase().name(),
            reason, Optional.ofNullable(evidence).map(Json::write)),
        new AuditEvent(who.name(), "rollout." + action, "rollout/" + name, Optional.empty(), Optional.empty(),
            Json.write(details)));
    if (seq.isEmpty()) {
      return false;
    }
    if (!next.phase().active() || !action.equals("analysis.check")) {
      live.remove(name);
    }
    LOG.log(System.Logger.Level.INFO, "rollout " + name + ": " + action + ": " + reason);
    resources.get(Kind.ROLLOUT, name).ifPresent(r -> {
      try {
        ensureRouting(next, Plan.of(r));
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "rollout " + name + ": routing after " + action + ": " + e.getMessage());
      }
      notifier.decision(r, next, action, reason, evidence);
    });
    return true;
  }

  /** A Rollout deleted: a rollout under way is stopped (stable takes all new sessions), then forgotten. */
  private void deleted(RolloutStore.Stored stored) {
    RolloutState s = RolloutState.fromJson(stored.state());
    if (s.phase().active()) {
      resources.get(Kind.AGENT, s.agent()).ifPresent(a -> writeRouting(a, s.finish(Phase.Aborted, clock.millis(), 0,
          "rollout deleted"), Optional.empty()));
    }
    store.delete(stored.name(), stored.seq());
    live.remove(stored.name());
  }

  // ---------------------------------------------------------------------------------------------
  // Routing

  /** Makes the Agent's routes, rules and shadow what the stored state says; writes only on a difference. */
  void ensureRouting(RolloutState s, Plan plan) {
    if (s.phase() == Phase.Promoted && s.stable().isEmpty()) {
      return;
    }
    resources.get(Kind.AGENT, s.agent()).ifPresent(agent -> {
      Optional<Step.Shadow> shadow = s.phase() == Phase.Progressing && s.step() < plan.steps().size()
          && plan.steps().get(s.step()) instanceof Step.Shadow sh ? Optional.of(sh) : Optional.empty();
      writeRouting(agent, s, shadow);
    });
  }

  private void writeRouting(Resource agent, RolloutState s, Optional<Step.Shadow> shadow) {
    ObjectNode desired = desiredSpec(agent.spec(), s, shadow);
    if (desired.equals(agent.spec())) {
      return;
    }
    Resource next = Resource.of(Kind.AGENT, agent.metadata(), desired);
    resources.apply(List.of(new ParsedResource(next, SourceMap.none(agent.ref()))), SYSTEM, false);
  }

  /** The Agent spec a rollout state calls for. */
  static ObjectNode desiredSpec(ObjectNode current, RolloutState s, Optional<Step.Shadow> shadow) {
    ObjectNode spec = current.deepCopy();
    ArrayNode routes = Json.mapper().createArrayNode();
    int candidateWeight = s.phase().active() ? s.weight() : s.phase() == Phase.Promoted ? 100 : 0;
    if (candidateWeight < 100 && !s.stable().isEmpty()) {
      routes.addObject().put("version", s.stable()).put("weight", 100 - candidateWeight);
    }
    if (candidateWeight > 0 || s.phase().active()) {
      routes.addObject().put("version", s.candidate()).put("weight", candidateWeight);
    }
    spec.set("routes", routes);
    ArrayNode rules = Json.mapper().createArrayNode();
    if (s.phase().active()) {
      for (ObjectNode r : s.rules()) {
        rules.add(r.deepCopy().put("version", s.candidate()));
      }
    }
    for (JsonNode r : current.path("rules")) {
      if (!r.path("name").asText().startsWith(RULE_PREFIX)) {
        rules.add(r);
      }
    }
    if (rules.isEmpty()) {
      spec.remove("rules");
    } else {
      spec.set("rules", rules);
    }
    JsonNode currentShadow = current.path("shadow");
    boolean ours = currentShadow.path("version").asText().equals(s.candidate());
    if (shadow.isPresent()) {
      ObjectNode sh = currentShadow.isObject() && ours ? ((ObjectNode) currentShadow).deepCopy() : Json.object();
      sh.put("version", s.candidate()).put("percent", shadow.get().percent());
      spec.set("shadow", sh);
    } else if (ours) {
      spec.remove("shadow");
    }
    return spec;
  }

  // ---------------------------------------------------------------------------------------------
  // Manual verbs

  /** The verbs of {@link #command}. */
  public static final List<String> VERBS = List.of("promote", "abort", "retry", "pause", "resume", "undo");

  /**
   * Applies a manual verb.
   *
   * @param body {@code {"full": true}} for promote, {@code {"reason": "..."}} for abort and pause
   * @throws NotFoundException when there is no such Rollout
   * @throws ConflictException when the verb does not apply in the rollout's phase
   */
  public ObjectNode command(String name, String verb, Principal who, JsonNode body) {
    if (!VERBS.contains(verb)) {
      throw new NotFoundException("no verb \"" + verb + "\"; expected one of " + String.join(", ", VERBS));
    }
    Resource r = resources.get(Kind.ROLLOUT, name).orElseThrow(() -> new NotFoundException("rollout/" + name + " not found"));
    Plan plan = Plan.of(r);
    for (int attempt = 0; attempt < 5; attempt++) {
      RolloutStore.Stored cur = store.get(name).orElseThrow(() -> new ConflictException(
          "cannot " + verb + ": rollout/" + name + " has not been started by the controller yet (phase Pending)"));
      RolloutState s = RolloutState.fromJson(cur.state());
      String note = body == null ? "" : body.path("reason").asText("");
      String by = " by " + who.name() + (note.isEmpty() ? "" : ": " + note);
      long now = clock.millis();
      boolean applied = switch (verb) {
        case "promote" -> {
          require(s, verb, Phase.Progressing, Phase.Paused);
          if (body != null && body.path("full").asBoolean(false)) {
            yield transition(cur, s.finish(Phase.Promoted, now, drainFor(plan, s), "promoted fully" + by), who, "promoted",
                "promoted fully" + by + ", skipping the remaining steps", null);
          }
          if (s.step() >= plan.steps().size()) {
            yield transition(cur, s.finish(Phase.Promoted, now, drainFor(plan, s), "promoted" + by), who, "promoted",
                "promoted" + by, null);
          }
          Step step = plan.steps().get(s.step());
          String reason = "step " + (s.step() + 1) + "/" + plan.steps().size() + " (" + step.summary() + ") promoted" + by;
          RolloutState progressing = s.withPhase(Phase.Progressing, "", reason);
          yield completeStep(cur, progressing, plan, who, reason, null);
        }
        case "abort" -> {
          require(s, verb, Phase.Progressing, Phase.Paused);
          yield transition(cur, s.finish(Phase.Aborted, now, drainFor(plan, s), "aborted" + by), who, "aborted",
              "aborted" + by, null);
        }
        case "retry" -> {
          require(s, verb, Phase.RolledBack, Phase.Aborted);
          RolloutState fresh = new RolloutState(s.uid(), s.generation(), s.agent(), s.stable(), s.candidate(),
              Phase.Progressing, s.attempt() + 1, 0, now, 0, List.of(), "", "retried" + by, 0, Json.object(), 0,
              "", 0);
          yield transition(cur, fresh, who, "retried", "attempt " + (s.attempt() + 1) + " from step 1" + by, null);
        }
        case "pause" -> {
          require(s, verb, Phase.Progressing);
          yield transition(cur, s.withPhase(Phase.Paused, "manual", "paused" + by), who, "paused", "paused" + by, null);
        }
        case "resume" -> {
          require(s, verb, Phase.Paused);
          if (s.pausedBy().equals("step")) {
            yield completeStep(cur, s.withPhase(Phase.Progressing, "", "resumed" + by), plan, who,
                "resumed" + by + "; the pause step is done", null);
          }
          // An inconclusive analysis starts again with fresh evidence; a manual pause carries on.
          RolloutState resumed = s.pausedBy().equals("inconclusive") ? s.withStepStartedAt(now) : s;
          yield transition(cur, resumed.withPhase(Phase.Progressing, "", "resumed" + by), who, "resumed",
              "resumed" + by + (s.pausedBy().equals("inconclusive") ? "; the analysis starts again" : ""), null);
        }
        case "undo" -> {
          require(s, verb, Phase.Promoted);
          if (s.stable().isEmpty()) {
            throw new ConflictException("cannot undo: " + s.candidate() + " had no previous version");
          }
          RolloutState undone = new RolloutState(s.uid(), s.generation(), s.agent(), s.stable(), s.candidate(),
              Phase.Undone, s.attempt(), s.step(), s.stepStartedAt(), 0, List.of(), "", "undone" + by, 0,
              Json.object(), now, s.candidate(), now + drainFor(plan, s));
          yield transition(cur, undone, who, "undone", "undone" + by + ": " + s.stable() + " serves every new session again", null);
        }
        default -> throw new IllegalStateException(verb);
      };
      if (applied) {
        return status(name);
      }
    }
    throw new ConflictException("cannot " + verb + ": rollout/" + name + " kept changing; try again");
  }

  private long drainFor(Plan plan, RolloutState s) {
    return plan.drainTimeout().map(Duration::toMillis).orElseGet(() -> sessionTtl(s.agent()));
  }

  private static void require(RolloutState s, String verb, Phase... allowed) {
    for (Phase p : allowed) {
      if (s.phase() == p) {
        return;
      }
    }
    List<String> names = new ArrayList<>();
    for (Phase p : allowed) {
      names.add(p.name());
    }
    throw new ConflictException("cannot " + verb + ": the rollout is " + s.phase().name() + "; " + verb
        + " applies when it is " + String.join(" or ", names));
  }

  // ---------------------------------------------------------------------------------------------
  // Status

  /** A rollout's status: phase, steps, weights, live evidence, draining versions. */
  public ObjectNode status(String name) {
    Resource r = resources.get(Kind.ROLLOUT, name).orElseThrow(() -> new NotFoundException("rollout/" + name + " not found"));
    Plan plan = Plan.of(r);
    Optional<RolloutStore.Stored> stored = store.get(name).filter(x -> RolloutState.fromJson(x.state()).uid().equals(uid(r)));
    ObjectNode o = Json.object().put("name", name).put("agent", r.spec().path("agent").asText())
        .put("candidate", r.spec().path("candidate").asText()).put("strategy", plan.strategy());
    ArrayNode steps = Json.mapper().createArrayNode();
    if (stored.isEmpty()) {
      o.putNull("stable");
      o.put("phase", Phase.Pending.name()).put("message", "waiting for the controller to start it").put("attempt", 0)
          .put("revision", 0);
      o.putObject("step").put("index", 0).put("count", plan.steps().size());
      for (int i = 0; i < plan.steps().size(); i++) {
        steps.add(stepJson(plan.steps().get(i), i, "pending"));
      }
      o.set("steps", steps);
      o.putObject("weights");
      return o;
    }
    RolloutState s = RolloutState.fromJson(stored.get().state());
    o.put("stable", s.stable().isEmpty() ? null : s.stable()).put("phase", s.phase().name()).put("message", s.message())
        .put("attempt", s.attempt()).put("revision", stored.get().seq())
        .put("updatedAt", Instant.ofEpochMilli(stored.get().updatedAt()).toString());
    if (!s.pausedBy().isEmpty()) {
      o.put("pausedBy", s.pausedBy());
    }
    ObjectNode step = o.putObject("step").put("index", s.step()).put("count", plan.steps().size());
    if (s.phase().active()) {
      step.put("startedAt", Instant.ofEpochMilli(s.stepStartedAt()).toString());
    }
    for (int i = 0; i < plan.steps().size(); i++) {
      String state = i < s.step() || s.phase() == Phase.Promoted ? "done"
          : i != s.step() ? "pending"
          : s.phase().active() ? "current"
          : s.phase() == Phase.RolledBack ? "failed" : s.phase() == Phase.Aborted ? "aborted" : "pending";
      steps.add(stepJson(plan.steps().get(i), i, state));
    }
    o.set("steps", steps);
    ObjectNode weights = o.putObject("weights");
    ObjectNode desired = desiredSpec(Json.object(), s, Optional.empty());
    for (JsonNode route : desired.path("routes")) {
      weights.put(route.path("version").asText(), route.path("weight").asInt());
    }
    if (!s.rules().isEmpty() && s.phase().active()) {
      ArrayNode rules = o.putArray("rules");
      s.rules().forEach(rules::add);
    }
    Live l = live.get(name);
    if (l != null && s.phase().active()) {
      ObjectNode a = l.result().toJson();
      a.put("analysis", l.key()).put("since", Instant.ofEpochMilli(l.since()).toString());
      l.deadline().ifPresent(d -> a.put("deadline", Instant.ofEpochMilli(d).toString()));
      o.set("analysis", a);
    }
    if (!s.draining().isEmpty()) {
      long sessions = telemetry.pinnedSessions(s.agent(), s.draining());
      boolean over = sessions == 0 || clock.millis() > s.drainDeadline();
      if (!over) {
        o.putArray("draining").addObject().put("version", s.draining()).put("sessions", sessions)
            .put("deadline", Instant.ofEpochMilli(s.drainDeadline()).toString());
      }
    }
    return o;
  }

  private static ObjectNode stepJson(Step step, int index, String state) {
    return Json.object().put("index", index).put("type", step.type()).put("summary", step.summary()).put("state", state);
  }

  /** A rollout's decisions, oldest first (the latest {@code limit}). */
  public List<RolloutStore.Decision> decisions(String name, int limit) {
    resources.get(Kind.ROLLOUT, name).orElseThrow(() -> new NotFoundException("rollout/" + name + " not found"));
    return store.decisions(name, limit);
  }

  private static String uid(Resource r) {
    return r.metadata().uid().orElse(r.name());
  }

  @Override
  public void close() {
    ticker.shutdownNow();
    try {
      ticker.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
