package dev.flightdeck.eval.stats;

import java.util.List;

/**
 * Paired comparison of a candidate run against a baseline report.
 *
 * @param pairedCases cases measured in both, matched by name
 * @param onlyInBaseline measured cases of the baseline the candidate lacks, in baseline order
 * @param onlyInCandidate measured cases of the candidate the baseline lacks, in candidate order
 * @param meanDifference mean over paired cases of candidate rate minus baseline rate
 * @param standardError standard error of {@code meanDifference}
 * @param interval two-sided {@code 1 - alpha} interval of the mean difference, clipped to [-1, 1]
 * @param lowerBound one-sided {@code 1 - alpha} lower bound of the mean difference, at least -1
 * @param margin the largest drop still "not worse"
 * @param alpha the error rate of the one-sided test
 * @param notWorse {@code lowerBound > -margin}
 * @param perCase the paired cases, in candidate order
 * @param method how the standard error and quantile were chosen
 */
public record Comparison(int pairedCases, List<String> onlyInBaseline, List<String> onlyInCandidate,
    double meanDifference, double standardError, Interval interval, double lowerBound,
    double margin, double alpha, boolean notWorse, List<CaseDifference> perCase, String method) {

  /** Validates the numbers (no NaN) and copies the lists into unmodifiable ones. */
  public Comparison {
    if (pairedCases < 0 || Double.isNaN(meanDifference) || !(standardError >= 0) || Double.isNaN(lowerBound)) {
      throw new IllegalArgumentException("a comparison needs numbers, got mean " + meanDifference
          + ", standard error " + standardError + ", lower bound " + lowerBound);
    }
    onlyInBaseline = List.copyOf(onlyInBaseline);
    onlyInCandidate = List.copyOf(onlyInCandidate);
    perCase = List.copyOf(perCase);
    if (perCase.size() != pairedCases) {
      throw new IllegalArgumentException(
          "pairedCases is " + pairedCases + " but " + perCase.size() + " case differences were given");
    }
  }
}
