package dev.flightdeck.server.rollout;

import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.api.resource.Resource;
import dev.flightdeck.eval.report.EvalReport;
import dev.flightdeck.gateway.Gateway;
import dev.flightdeck.gateway.telemetry.VersionWindows;
import dev.flightdeck.gateway.telemetry.WindowStats;
import dev.flightdeck.rollout.analysis.Arm;
import dev.flightdeck.rollout.analysis.Verdict;
import dev.flightdeck.rollout.controller.EvalGates;
import dev.flightdeck.rollout.controller.Telemetry;
import dev.flightdeck.rollout.controller.WindowArm;
import dev.flightdeck.server.eval.EvalScheduler;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.Dialect;
import dev.flightdeck.store.gateway.SessionPinStore;
import dev.flightdeck.store.gateway.WindowStore;
import dev.flightdeck.store.resource.ResourceStore;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/** What the rollout controller needs from the rest of the server: telemetry and eval runs. */
public final class RolloutWiring {

  private RolloutWiring() {}

  /**
   * Telemetry from this process's gateway on the embedded store; with PostgreSQL (replicas
   * sharing it) from every replica's stored windows, which lag by up to the gateway's 5-second
   * flush. Periods longer than the gateway keeps in memory (10 minutes) are read from the stored
   * windows too (kept an hour).
   */
  public static Telemetry telemetry(Database db, Optional<Gateway> gateway) {
    WindowStore windows = new WindowStore(db);
    SessionPinStore pins = new SessionPinStore(db);
    boolean replicated = db.dialect() == Dialect.POSTGRES || gateway.isEmpty();
    return new Telemetry() {
      @Override
      public Arm since(String version, long fromMillis) {
        return between(version, fromMillis, System.currentTimeMillis());
      }

      @Override
      public Arm between(String version, long fromMillis, long toMillis) {
        long from = fromMillis / 1000;
        long to = toMillis / 1000;
        boolean inMemory = !replicated && from > System.currentTimeMillis() / 1000 - VersionWindows.SECONDS + 10;
        return new WindowArm(inMemory ? gateway.get().stats(version, from, to) : stored(version, from, to));
      }

      private WindowStats stored(String version, long fromSecond, long toSecond) {
        return VersionWindows.fromRows(windows.read(version, fromSecond).stream()
            .filter(r -> r.second() <= toSecond).toList());
      }

      @Override
      public long pinnedSessions(String agent, String version) {
        return pins.countByVersion(agent, System.currentTimeMillis()).getOrDefault(version, 0L);
      }
    };
  }

  /** evalGate steps: the suite, run by the eval scheduler's runner against the candidate version directly. */
  public static EvalGates evalGates(ResourceStore resources, EvalScheduler evals) {
    return (suite, candidate) -> {
      Optional<Resource> r = resources.get(Kind.EVAL_SUITE, suite);
      if (r.isEmpty()) {
        return new EvalGates.Outcome(Verdict.WAIT, "evalsuite/" + suite + " does not exist",
            dev.flightdeck.api.resource.Json.object());
      }
      EvalReport report = evals.run(r.get(), Optional.of("agentversion/" + candidate));
      var evidence = EvalScheduler.summary(report);
      var s = report.summary();
      String figures = String.format(Locale.ROOT, "pass@1 %.3f (95%% CI %.3f–%.3f) over %d runs", s.pass1(),
          s.clusteredCi().low(), s.clusteredCi().high(), s.runs());
      if (report.unreachable()) {
        return new EvalGates.Outcome(Verdict.WAIT, candidate + " was unreachable: " + figures, evidence);
      }
      String checks = report.gate().checks().stream().map(c -> c.name() + " " + (c.passed() ? "passed" : "failed")
          + (c.detail().isEmpty() ? "" : " (" + c.detail() + ")")).collect(Collectors.joining("; "));
      return new EvalGates.Outcome(report.gate().passed() ? Verdict.PASS : Verdict.FAIL,
          "evalsuite/" + suite + ": " + figures + "; " + checks, evidence);
    };
  }
}
