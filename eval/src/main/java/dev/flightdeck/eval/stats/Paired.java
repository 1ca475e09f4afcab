package dev.flightdeck.eval.stats;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Non-inferiority of a candidate against a baseline on the cases both measured (Miller 2024,
 * paired differences): each case is its own control, so the case-to-case spread in difficulty
 * cancels out of the comparison.
 *
 * <p>The standard error is the larger of two: the paired-t one, {@code sd(d) / sqrt(C)}, and a
 * binomial floor, the sampling variance of the differences if every case's rate were its
 * Agresti–Caffo estimate {@code (x + 1) / (n + 2)}. The floor, not a fallback taken only when
 * {@code sd(d) = 0}, because with a fallback one flaky case among identical ones would shrink the
 * standard error from the floor to almost nothing, so observing a regression would make the
 * verdict rosier than observing none. With many heterogeneous cases the paired-t term dominates
 * and the floor changes nothing. The quantile follows the variance used: Student's t with C-1
 * degrees of freedom for the sample variance, the normal for the binomial floor.
 */
public final class Paired {
  static final String NO_SHARED_CASES = "no shared cases";
  static final String PAIRED_T = "paired t";
  static final String BINOMIAL_FLOOR = "binomial floor";

  private Paired() {}

  /** Compares candidate to baseline on the cases they share: not worse by more than margin with confidence 1-alpha. */
  public static Comparison compare(List<CaseTally> baseline, List<CaseTally> candidate, double margin, double alpha) {
    Quantiles.requireOpenUnit(alpha, "alpha");
    if (!(margin >= 0 && margin <= 1)) {
      throw new IllegalArgumentException("margin must be in [0, 1], got " + margin);
    }
    Map<String, CaseTally> base = measuredByName(baseline, "baseline");
    Map<String, CaseTally> cand = measuredByName(candidate, "candidate");
    List<String> onlyInBaseline = base.keySet().stream().filter(n -> !cand.containsKey(n)).toList();
    List<String> onlyInCandidate = new ArrayList<>();
    List<CaseDifference> perCase = new ArrayList<>();
    double floorVariance = 0;
    for (CaseTally c : cand.values()) {
      CaseTally b = base.get(c.name());
      if (b == null) {
        onlyInCandidate.add(c.name());
        continue;
      }
      perCase.add(new CaseDifference(c.name(), b.rate(), c.rate(), c.rate() - b.rate()));
      floorVariance += adjustedVariance(c) + adjustedVariance(b);
    }
    int pairs = perCase.size();
    if (pairs == 0) {
      return new Comparison(0, onlyInBaseline, onlyInCandidate, 0, 0, new Interval(-1, 1), -1,
          margin, alpha, false, perCase, NO_SHARED_CASES);
    }
    double mean = perCase.stream().mapToDouble(CaseDifference::difference).sum() / pairs;
    double sumSquares = 0;
    for (CaseDifference d : perCase) {
      sumSquares += (d.difference() - mean) * (d.difference() - mean);
    }
    double floorSe = Math.sqrt(floorVariance) / pairs;
    double pairedSe = pairs >= 2 ? Math.sqrt(sumSquares / (pairs - 1) / pairs) : 0;

    double se;
    double twoSided;
    double oneSided;
    String method;
    if (pairs >= 2 && pairedSe > 0 && pairedSe >= floorSe) {
      se = pairedSe;
      twoSided = Quantiles.t(1 - alpha / 2, pairs - 1);
      oneSided = Quantiles.t(1 - alpha, pairs - 1);
      method = PAIRED_T + " over " + pairs + " cases (sd of differences / sqrt(C), Student's t with "
          + (pairs - 1) + " df)";
    } else {
      se = floorSe;
      twoSided = Quantiles.normal(1 - alpha / 2);
      oneSided = Quantiles.normal(1 - alpha);
      String why = pairs == 1 ? "one shared case"
          : pairedSe == 0 ? "the differences do not vary"
          : "sd of differences / sqrt(C) is below it";
      method = BINOMIAL_FLOOR + " over " + pairs + " cases (Agresti–Caffo adjusted rates, normal quantile; "
          + why + ")";
    }
    Interval interval = Interval.around(mean, twoSided * se, -1, 1);
    double lowerBound = Math.max(-1, mean - oneSided * se);
    return new Comparison(pairs, onlyInBaseline, onlyInCandidate, mean, se, interval, lowerBound,
        margin, alpha, lowerBound > -margin, perCase, method);
  }

  /** {@code p~ (1 - p~) / (n + 2)} with {@code p~ = (x + 1) / (n + 2)}: never 0, even at 0 or n passes. */
  static double adjustedVariance(CaseTally c) {
    double n = c.runs() + 2.0;
    double p = (c.passes() + 1) / n;
    return p * (1 - p) / n;
  }

  private static Map<String, CaseTally> measuredByName(List<CaseTally> tallies, String side) {
    Map<String, CaseTally> out = new LinkedHashMap<>();
    Set<String> seen = new HashSet<>();
    for (CaseTally t : tallies) {
      if (!seen.add(t.name())) {
        throw new IllegalArgumentException(
            "the " + side + " has case '" + t.name() + "' twice; case names must be unique to pair them");
      }
      if (t.runs() > 0) {
        out.put(t.name(), t);
      }
    }
    return out;
  }
}
