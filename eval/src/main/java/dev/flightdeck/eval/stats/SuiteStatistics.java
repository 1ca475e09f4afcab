package dev.flightdeck.eval.stats;

import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The summary of one suite run. Each case is a cluster of repeated runs: its runs share the case's
 * difficulty, so they are not independent draws, and the cluster-robust standard error is the one
 * to read; the Wilson interval and the naive standard error treat every run as independent and are
 * reported for comparison.
 */
public final class SuiteStatistics {
  /** The most k reported in the pass^k and pass@k curves. */
  static final int MAX_K = 1000;

  private SuiteStatistics() {}

  /** Summarises cases at the given confidence (0.95 by default in callers). */
  public static Summary summarize(List<CaseTally> cases, double confidence) {
    double z = Quantiles.twoSidedZ(confidence);
    List<CaseTally> measured = cases.stream().filter(c -> c.runs() > 0).toList();
    long runs = 0;
    long passes = 0;
    int maxRuns = 0;
    List<String> flaky = new ArrayList<>();
    for (CaseTally c : cases) {
      runs += c.runs();
      passes += c.passes();
      maxRuns = Math.max(maxRuns, c.runs());
      if (c.passes() > 0 && c.passes() < c.runs()) {
        flaky.add(c.name());
      }
    }
    int clusters = measured.size();
    double pass1 = pass1(measured);
    double p = runs == 0 ? 0 : (double) passes / runs;
    double naiveSe = runs == 0 ? 0 : Math.sqrt(p * (1 - p) / runs);
    double clusteredSe = clusters >= 2 ? clusteredSe(measured, pass1) : naiveSe;
    Interval clusteredCi = clusters == 0 ? new Interval(0, 1) : Interval.around(pass1, z * clusteredSe, 0, 1);

    int kMax = Math.min(maxRuns, MAX_K);
    double[][] curves = PassK.curves(measured, kMax);
    SortedMap<Integer, Double> hat = new TreeMap<>();
    SortedMap<Integer, Double> at = new TreeMap<>();
    for (int k = 1; k <= kMax; k++) {
      if (!Double.isNaN(curves[0][k - 1])) {
        hat.put(k, curves[0][k - 1]);
        at.put(k, curves[1][k - 1]);
      }
    }
    return new Summary(cases.size(), runs, passes, pass1, Proportions.wilson(passes, runs, confidence),
        clusteredSe, clusteredCi, naiveSe, hat, at, flaky);
  }

  /** Mean of the cases' pass rates; 0 when no case was measured. */
  static double pass1(List<CaseTally> measured) {
    if (measured.isEmpty()) {
      return 0;
    }
    double sum = 0;
    for (CaseTally c : measured) {
      sum += (double) c.passes() / c.runs();
    }
    return sum / measured.size();
  }

  /**
   * Cluster-robust (CR1) standard error of {@code pass1 = sum_c sum_i w_ci x_ci} with
   * {@code w_ci = 1 / (C n_c)}: {@code SE^2 = C/(C-1) sum_c (sum_i w_ci (x_ci - pass1))^2}.
   * The inner sum is {@code (rate_c - pass1) / C}, so this is the standard error of the mean of
   * the C case rates, {@code sd(rates) / sqrt(C)}. Needs at least two measured cases.
   */
  static double clusteredSe(List<CaseTally> measured, double pass1) {
    int clusters = measured.size();
    double sum = 0;
    for (CaseTally c : measured) {
      double score = ((double) c.passes() / c.runs() - pass1) / clusters;
      sum += score * score;
    }
    return Math.sqrt(sum * clusters / (clusters - 1));
  }
}
