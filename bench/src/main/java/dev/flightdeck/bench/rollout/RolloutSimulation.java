package dev.flightdeck.bench.rollout;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.rollout.analysis.Analysis;
import dev.flightdeck.rollout.analysis.AnalysisSpec;
import dev.flightdeck.rollout.analysis.ThresholdPolicy;
import dev.flightdeck.rollout.analysis.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * Canary analyses on simulated traffic, in virtual time: the real {@link Analysis} code decides,
 * the traffic is drawn from known distributions, so false rollbacks and detection times can be
 * counted. Run through {@code bench/rollout/simulate.sh}; prints a Markdown table.
 *
 * <p>Each simulated second the canary receives Poisson(20) requests and stable Poisson(180) (a 10%
 * canary); each request is an error with probability {@code p} and takes a lognormal latency
 * (median 400 ms, σ 0.5 of its logarithm, so p95 ≈ 910 ms), recorded in a real
 * {@code LatencyHistogram}. Both policies read the same traffic, once per simulated second: the
 * controller ticks every 250 ms, but the gateway's windows are per second, so a finer tick would
 * see the same data.
 *
 * <ul>
 *   <li><b>Sequential</b> (Flightdeck): {@code errorRate maxIncrease 0.01} and {@code latencyP95
 *       maxRatio 1.2} in one analysis, α 0.01, minSamples 100, deadline 10m; cumulative since the
 *       analysis began, evaluated every second.
 *   <li><b>Threshold</b> (Flagger-style): every minute, the last minute's point estimates against
 *       {@code errorRate max 0.05} and {@code latencyP95 max} 1.2 × stable's true p95; rolled back
 *       after 5 failed checks (Flagger's default threshold), promoted after 10.
 * </ul>
 *
 * <pre>java -cp bench/target/benchmarks.jar dev.flightdeck.bench.rollout.RolloutSimulation \
 *     [--rollouts 2000] [--regression-rollouts 500] [--seed 1] [--threads N] [--fixed-arrivals] [--alpha 0.01]</pre>
 *
 * {@code --alpha} changes the sequential analysis's α, e.g. to see false rollbacks at a limit
 * happen at all (at 0.01 there are too few to count).
 */
public final class RolloutSimulation {

  static final double STABLE_RPS = 180;
  static final double CANARY_RPS = 20;
  static final double ERROR_RATE = 0.02;
  static final double MEDIAN_MS = 400;
  static final double SIGMA = 0.5;
  /** Stable's true p95 in ms: the lognormal's 95th percentile. */
  static final double STABLE_P95_MS = MEDIAN_MS * Math.exp(SIGMA * 1.6448536269514722);
  /** The sequential analysis's deadline (10m), which also ends the simulation of a rollout. */
  static final int DEADLINE_SECONDS = (int) sequentialSpec(0.01).deadline().orElseThrow().toSeconds();

  private RolloutSimulation() {}

  /**
   * What the canary does.
   *
   * @param name as the table shows it
   * @param regression whether the canary breaks a limit (else every rollback is a false one)
   * @param errorRate the canary's error probability once the change applies
   * @param latencyFactor the canary's latencies are stable's times this once it applies
   * @param fromSecond when the change applies (0: from the start of the analysis)
   * @param rollouts how many rollouts to simulate
   */
  record Scenario(String name, boolean regression, double errorRate, double latencyFactor, int fromSecond,
      int rollouts) {}

  /** How one policy ended one rollout. */
  enum End {
    ROLLBACK,
    PASS,
    INCONCLUSIVE,
    /** Passed before a mid-analysis regression began. */
    PASSED_BEFORE
  }

  record Outcome(End end, int second) {}

  /** Runs the scenarios and prints the table. */
  public static void main(String[] args) throws Exception {
    int rollouts = 2000;
    int regressionRollouts = 500;
    long seed = 1;
    int threads = Runtime.getRuntime().availableProcessors();
    boolean poisson = true;
    double alpha = 0.01;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--rollouts" -> rollouts = Integer.parseInt(args[++i]);
        case "--regression-rollouts" -> regressionRollouts = Integer.parseInt(args[++i]);
        case "--seed" -> seed = Long.parseLong(args[++i]);
        case "--threads" -> threads = Integer.parseInt(args[++i]);
        case "--fixed-arrivals" -> poisson = false;
        case "--alpha" -> alpha = Double.parseDouble(args[++i]);
        default -> {
          System.err.println("unknown argument " + args[i]
              + "; expected --rollouts N, --regression-rollouts N, --seed S, --threads N, --fixed-arrivals,"
              + " --alpha A");
          System.exit(2);
        }
      }
    }
    List<Scenario> scenarios = List.of(
        new Scenario("A/A: canary = stable (2% errors)", false, ERROR_RATE, 1, 0, rollouts),
        new Scenario("Error rate at its limit: 3%", false, ERROR_RATE + 0.01, 1, 0, rollouts),
        new Scenario("Latency p95 at its limit: × 1.2", false, ERROR_RATE, 1.2, 0, rollouts),
        new Scenario("Errors 2% → 10% from the start", true, 0.10, 1, 0, regressionRollouts),
        new Scenario("Latency × 1.5 from the start", true, ERROR_RATE, 1.5, 0, regressionRollouts),
        new Scenario("Errors 2% → 10% after 2 min", true, 0.10, 1, 120, regressionRollouts),
        new Scenario("Latency × 1.5 after 2 min", true, ERROR_RATE, 1.5, 120, regressionRollouts));

    long started = System.nanoTime();
    Simulator sim = new Simulator(sequentialSpec(alpha), thresholdSpec(), poisson);
    List<String> rows = new ArrayList<>();
    ForkJoinPool pool = new ForkJoinPool(threads);
    try {
      for (int s = 0; s < scenarios.size(); s++) {
        Scenario sc = scenarios.get(s);
        long scenarioSeed = seed * 1_000_003L + s;
        Outcome[][] out = pool.submit(() -> IntStream.range(0, sc.rollouts()).parallel()
            .mapToObj(i -> sim.run(sc, new SplittableRandom(scenarioSeed * 0x9E3779B97F4A7C15L + i)))
            .toArray(Outcome[][]::new)).get();
        rows.add(row(sc, "Flightdeck sequential", out, 0));
        rows.add(row(sc, "Flagger-style threshold", out, 1));
      }
    } finally {
      pool.shutdown();
    }
    double wall = (System.nanoTime() - started) / 1e9;

    System.out.printf(Locale.ROOT, "Traffic per simulated second: canary %s(%.0f), stable %s(%.0f); errors 2%%;"
        + " latency lognormal, median %.0f ms, σ %.1f (stable p95 %.1f ms); seed %d; %d threads.%n%n",
        poisson ? "Poisson" : "fixed ", CANARY_RPS, poisson ? "Poisson" : "fixed ", STABLE_RPS, MEDIAN_MS, SIGMA,
        STABLE_P95_MS, seed, threads);
    System.out.println("| Scenario | Policy | Rollouts | Rolled back (95% CI) | Passed | Inconclusive at 10 min"
        + " | Time to rollback: median / p90 / max | Time to pass: median |");
    System.out.println("|---|---|--:|---|--:|--:|---|---|");
    rows.forEach(System.out::println);
    System.out.println();
    System.out.println("Sequential: " + sim.sequential.summary() + ": errorRate maxIncrease 0.01, latencyP95 maxRatio 1.2,"
        + " minSamples 100, deadline 10m. Threshold: " + sim.threshold.summary() + ": errorRate max 0.05, latencyP95 max "
        + String.format(Locale.ROOT, "%.1f", 1.2 * STABLE_P95_MS) + " ms, failureLimit 5, count 10.");
    System.out.println("In the A/A and at-limit rows every rollback is a false one; at a limit, a pass is (nearly) one too."
        + " Times run from the start of the change (the analysis's start, or 2 min in) to the decision, at 1 s"
        + " resolution; in the mid-analysis rows, \"Passed\" are analyses that passed before the change began.");
    System.out.printf(Locale.ROOT, "Wall time: %.1f s%n", wall);
  }

  static AnalysisSpec sequentialSpec(double alpha) {
    ObjectNode a = Json.object().put("alpha", alpha).put("minSamples", 100).put("deadline", "10m");
    a.putArray("metrics").add(Json.object().put("name", "errorRate").put("maxIncrease", 0.01))
        .add(Json.object().put("name", "latencyP95").put("maxRatio", 1.2));
    return parse(a);
  }

  static AnalysisSpec thresholdSpec() {
    ObjectNode a = Json.object().put("mode", "threshold").put("interval", "1m").put("failureLimit", 5).put("count", 10);
    double latencyMax = Math.round(1.2 * STABLE_P95_MS * 10) / 10.0;
    a.putArray("metrics").add(Json.object().put("name", "errorRate").put("max", 0.05))
        .add(Json.object().put("name", "latencyP95").put("max", latencyMax));
    return parse(a);
  }

  private static AnalysisSpec parse(ObjectNode a) {
    List<String> problems = new ArrayList<>();
    return AnalysisSpec.parse(a, "analysis", problems)
        .orElseThrow(() -> new IllegalStateException("invalid analysis: " + problems));
  }

  /** Draws one rollout's traffic and runs both policies on it. */
  static final class Simulator {
    final AnalysisSpec sequential;
    final AnalysisSpec threshold;
    private final boolean poisson;

    Simulator(AnalysisSpec sequential, AnalysisSpec threshold, boolean poisson) {
      this.sequential = sequential;
      this.threshold = threshold;
      this.poisson = poisson;
    }

    /** Both policies' outcomes: {@code [sequential, threshold]}. */
    Outcome[] run(Scenario sc, SplittableRandom rng) {
      SimulatedArm stable = new SimulatedArm();
      SimulatedArm canary = new SimulatedArm();
      SimulatedArm stableInterval = new SimulatedArm();
      SimulatedArm canaryInterval = new SimulatedArm();
      ThresholdPolicy policy = ThresholdPolicy.start(0);
      Outcome seq = null;
      Outcome thr = null;
      for (int t = 1; t <= DEADLINE_SECONDS && (seq == null || thr == null); t++) {
        boolean changed = t > sc.fromSecond();
        double canaryErrors = changed ? sc.errorRate() : ERROR_RATE;
        double canaryFactor = changed ? sc.latencyFactor() : 1;
        traffic(rng, STABLE_RPS, ERROR_RATE, 1, stable, stableInterval);
        traffic(rng, CANARY_RPS, canaryErrors, canaryFactor, canary, canaryInterval);
        if (seq == null) {
          Verdict v = Analysis.evaluate(sequential, stable, canary).verdict();
          seq = outcome(sc, v, t, t >= DEADLINE_SECONDS);
        }
        long now = t * 1000L;
        if (thr == null && policy.due(threshold, now)) {
          policy = policy.record(Analysis.check(threshold, stableInterval, canaryInterval), now);
          stableInterval = new SimulatedArm();
          canaryInterval = new SimulatedArm();
          thr = outcome(sc, policy.verdict(threshold), t, t >= DEADLINE_SECONDS);
        }
      }
      return new Outcome[] {seq == null ? new Outcome(End.INCONCLUSIVE, DEADLINE_SECONDS) : seq,
          thr == null ? new Outcome(End.INCONCLUSIVE, DEADLINE_SECONDS) : thr};
    }

    private static Outcome outcome(Scenario sc, Verdict v, int t, boolean atDeadline) {
      return switch (v) {
        case FAIL -> new Outcome(End.ROLLBACK, t - sc.fromSecond());
        case PASS -> new Outcome(t <= sc.fromSecond() && sc.regression() ? End.PASSED_BEFORE : End.PASS, t);
        case WAIT -> atDeadline ? new Outcome(End.INCONCLUSIVE, t) : null;
      };
    }

    private void traffic(SplittableRandom rng, double rate, double errorRate, double latencyFactor,
        SimulatedArm cumulative, SimulatedArm interval) {
      int n = poisson ? poisson(rng, rate) : (int) rate;
      double median = MEDIAN_MS * 1000 * latencyFactor;
      for (int i = 0; i < n; i++) {
        boolean error = rng.nextDouble() < errorRate;
        long micros = Math.round(median * Math.exp(SIGMA * rng.nextGaussian()));
        cumulative.record(error, micros);
        interval.record(error, micros);
      }
    }
  }

  /** A Poisson draw by inversion, fine for the means used here (well below 700). */
  static int poisson(SplittableRandom rng, double mean) {
    double u = rng.nextDouble();
    double p = Math.exp(-mean);
    double cdf = p;
    int k = 0;
    while (u > cdf && p > 0) {
      k++;
      p *= mean / k;
      cdf += p;
    }
    return k;
  }

  private static String row(Scenario sc, String policy, Outcome[][] out, int which) {
    int n = out.length;
    int rolledBack = 0;
    int passed = 0;
    int inconclusive = 0;
    List<Integer> rollbackTimes = new ArrayList<>();
    List<Integer> passTimes = new ArrayList<>();
    for (Outcome[] o : out) {
      Outcome x = o[which];
      switch (x.end()) {
        case ROLLBACK -> {
          rolledBack++;
          rollbackTimes.add(x.second());
        }
        case PASS, PASSED_BEFORE -> {
          passed++;
          passTimes.add(x.second());
        }
        case INCONCLUSIVE -> inconclusive++;
      }
    }
    double[] ci = ClopperPearson.interval(rolledBack, n, 0.95);
    String rb = String.format(Locale.ROOT, "%s (%s–%s)", pct(rolledBack, n), pct(ci[0]), pct(ci[1]));
    String times = rollbackTimes.isEmpty() ? "–"
        : seconds(quantile(rollbackTimes, 0.5)) + " / " + seconds(quantile(rollbackTimes, 0.9)) + " / "
            + seconds(quantile(rollbackTimes, 1.0));
    String pass = passTimes.isEmpty() ? "–" : seconds(quantile(passTimes, 0.5));
    return "| " + sc.name() + " | " + policy + " | " + n + " | " + rb + " | " + pct(passed, n) + " | "
        + pct(inconclusive, n) + " | " + times + " | " + pass + " |";
  }

  /** The nearest-rank quantile. */
  static int quantile(List<Integer> xs, double q) {
    int[] s = xs.stream().mapToInt(Integer::intValue).sorted().toArray();
    int rank = (int) Math.ceil(q * s.length);
    return s[Math.max(0, Math.min(s.length - 1, rank - 1))];
  }

  private static String seconds(int s) {
    return s < 120 ? s + " s" : String.format(Locale.ROOT, "%d m %02d s", s / 60, s % 60);
  }

  private static String pct(long x, long n) {
    return pct((double) x / n);
  }

  private static String pct(double v) {
    return String.format(Locale.ROOT, v < 0.1 ? "%.2f%%" : "%.1f%%", v * 100);
  }
}
