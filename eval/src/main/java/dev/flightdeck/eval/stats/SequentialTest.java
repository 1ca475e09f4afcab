package dev.flightdeck.eval.stats;

import java.math.BigDecimal;
import java.math.RoundingMode;
import org.apache.commons.numbers.gamma.LogBeta;
import org.apache.commons.statistics.distribution.BetaDistribution;

/**
 * Always-valid sequential test for one case's pass rate against a threshold, with curtailment.
 *
 * <p>The reference is the fixed plan: run the case {@code maxRuns} times, PASS iff
 * {@code passes / maxRuns >= threshold}. {@link #decide} stops earlier in two ways. Curtailment is
 * exact: once the fixed verdict can no longer change, whatever the remaining runs do, it is
 * returned. The sequential test is a bet: two one-sided mixture likelihood ratios (Robbins 1970),
 * one against "rate <= threshold" and one against "rate >= threshold", each stopping when it
 * reaches {@code 2 / alpha}. Each is a nonnegative supermartingale under its null, so by Ville's
 * inequality it ever reaches {@code 2 / alpha} with probability at most {@code alpha / 2}, however
 * often it is looked at: the chance of a sequential verdict against the true rate is at most
 * {@code alpha}.
 *
 * <p>Why a supermartingale under the composite null, for the PASS side (FAIL is the mirror image):
 * the component for a rate {@code p' > threshold t} multiplies by {@code p'/t} on a pass and by
 * {@code (1-p')/(1-t)} on a failure. Under a true rate {@code p} its expected factor is
 * {@code p p'/t + (1-p)(1-p')/(1-t)}, which is 1 at {@code p = t} and increases with {@code p}
 * (its slope {@code p'/t - (1-p')/(1-t)} is positive since {@code p' > t}), so it is at most 1 for
 * every {@code p <= t}. Each component is then a nonnegative supermartingale with initial value 1,
 * and so is their average over a prior on {@code p'} (here uniform on {@code (t, 1]}).
 */
public final class SequentialTest {
  private final double threshold;
  private final double alpha;
  private final int minRuns;
  private final int maxRuns;
  private final int requiredPasses;
  private final double logBoundary;

  private SequentialTest(double threshold, double alpha, int minRuns, int maxRuns) {
    this.threshold = threshold;
    this.alpha = alpha;
    this.minRuns = minRuns;
    this.maxRuns = maxRuns;
    this.requiredPasses = requiredPasses(threshold, maxRuns);
    this.logBoundary = Math.log(2 / alpha);
  }

  /** A test of pass rate {@code >= threshold} over at most {@code maxRuns} runs, betting only after {@code minRuns}. */
  public static SequentialTest of(double threshold, double alpha, int minRuns, int maxRuns) {
    if (!(threshold >= 0 && threshold <= 1)) {
      throw new IllegalArgumentException("threshold must be in [0, 1], got " + threshold);
    }
    Quantiles.requireOpenUnit(alpha, "alpha");
    if (maxRuns < 1 || minRuns < 0 || minRuns > maxRuns) {
      throw new IllegalArgumentException(
          "need 0 <= minRuns <= maxRuns and maxRuns >= 1, got minRuns " + minRuns + ", maxRuns " + maxRuns);
    }
    return new SequentialTest(threshold, alpha, minRuns, maxRuns);
  }

  /** The pass-rate threshold. */
  public double threshold() {
    return threshold;
  }

  /** The chance of a sequential verdict against the true rate, split evenly over PASS and FAIL. */
  public double alpha() {
    return alpha;
  }

  /** Runs before the sequential test may stop (curtailment may stop earlier). */
  public int minRuns() {
    return minRuns;
  }

  /** Runs of the fixed plan. */
  public int maxRuns() {
    return maxRuns;
  }

  /** Passes out of {@code maxRuns} the fixed plan needs: {@code ceil(threshold * maxRuns)} in decimal arithmetic. */
  public int requiredPasses() {
    return requiredPasses;
  }

  /** The decision after `passes` out of `runs`. */
  public Decision decide(int passes, int runs) {
    return step(passes, runs).decision();
  }

  /** Why a decision was taken: curtailment, the sequential test, or none yet. */
  enum Basis { CURTAILED, SEQUENTIAL, UNDECIDED }

  /** A decision with its basis. */
  record Step(Decision decision, Basis basis) {}

  Step step(int passes, int runs) {
    requireCounts(passes, runs);
    if (runs > maxRuns) {
      throw new IllegalArgumentException("runs " + runs + " exceed the plan's maxRuns " + maxRuns);
    }
    if (passes >= requiredPasses) {
      return new Step(Decision.PASS, Basis.CURTAILED);
    }
    if (passes + (maxRuns - runs) < requiredPasses) {
      return new Step(Decision.FAIL, Basis.CURTAILED);
    }
    // Curtailment always decides at runs == maxRuns, so from here on runs < maxRuns.
    if (runs >= minRuns) {
      // Only the side the data lean to can have evidence above 1: if passes/runs <= t, every
      // component p' > t has likelihood ratio <= 1 (the log-likelihood is concave with its maximum
      // at passes/runs), and likewise for FAIL.
      double observed = runs == 0 ? threshold : (double) passes / runs;
      if (observed > threshold && logEvidenceForPass(passes, runs) >= logBoundary) {
        return new Step(Decision.PASS, Basis.SEQUENTIAL);
      }
      if (observed < threshold && logEvidenceForFail(passes, runs) >= logBoundary) {
        return new Step(Decision.FAIL, Basis.SEQUENTIAL);
      }
    }
    return new Step(Decision.CONTINUE, Basis.UNDECIDED);
  }

  /** The evidence: log of the mixture likelihood ratio against "rate <= threshold" (for PASS) and against "rate >= threshold" (for FAIL). */
  public double logEvidenceForPass(int passes, int runs) {
    requireCounts(passes, runs);
    int fails = runs - passes;
    if (threshold == 1) {
      return 0; // "rate <= 1" always holds: no prior mass above it, nothing to bet on
    }
    if (threshold == 0) {
      // Against "rate = 0" a single pass is conclusive; with none, the uniform mixture gives 1/(f+1).
      return passes > 0 ? Double.POSITIVE_INFINITY : -Math.log(fails + 1.0);
    }
    // (1/(1-t)) * integral_t^1 p^s (1-p)^f dp / (t^s (1-t)^f), the integral being
    // B(s+1, f+1) * P(Beta(s+1, f+1) > t).
    double tail = BetaDistribution.of(passes + 1.0, fails + 1.0).survivalProbability(threshold);
    return LogBeta.value(passes + 1.0, fails + 1.0) + Math.log(tail)
        - passes * Math.log(threshold) - (fails + 1.0) * Math.log1p(-threshold);
  }

  /** The evidence against "rate >= threshold": log of the mixture likelihood ratio with the mixing rate uniform on [0, threshold). */
  public double logEvidenceForFail(int passes, int runs) {
    requireCounts(passes, runs);
    int fails = runs - passes;
    if (threshold == 0) {
      return 0; // "rate >= 0" always holds
    }
    if (threshold == 1) {
      return fails > 0 ? Double.POSITIVE_INFINITY : -Math.log(passes + 1.0);
    }
    double head = BetaDistribution.of(passes + 1.0, fails + 1.0).cumulativeProbability(threshold);
    return LogBeta.value(passes + 1.0, fails + 1.0) + Math.log(head)
        - (passes + 1.0) * Math.log(threshold) - fails * Math.log1p(-threshold);
  }

  /**
   * {@code ceil(threshold * maxRuns)}, computed on the decimal the threshold was written as:
   * in binary floating point 0.07 * 100 is 7.000000000000001, whose ceiling would demand 8 passes.
   */
  static int requiredPasses(double threshold, int maxRuns) {
    return BigDecimal.valueOf(threshold).multiply(BigDecimal.valueOf(maxRuns))
        .setScale(0, RoundingMode.CEILING).intValueExact();
  }

  private static void requireCounts(int passes, int runs) {
    if (passes < 0 || passes > runs) {
      throw new IllegalArgumentException("passes must be in [0, runs], got " + passes + " of " + runs);
    }
  }

  @Override
  public String toString() {
    return "SequentialTest[threshold=" + threshold + ", alpha=" + alpha + ", minRuns=" + minRuns
        + ", maxRuns=" + maxRuns + ", requiredPasses=" + requiredPasses + "]";
  }
}
