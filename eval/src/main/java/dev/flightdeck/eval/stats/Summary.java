package dev.flightdeck.eval.stats;

import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Suite-level summary.
 *
 * @param cases the number of tallies given, measured or not
 * @param runs total measured runs
 * @param passes total passes
 * @param pass1 mean over measured cases of the case's pass rate (each case weighs the same)
 * @param wilson Wilson interval on passes / runs, as if all runs were independent
 * @param clusteredSe cluster-robust standard error of {@code pass1}, cases as clusters
 * @param clusteredCi {@code pass1 ± z * clusteredSe}, clipped to [0, 1]
 * @param naiveSe {@code sqrt(p (1 - p) / runs)} with {@code p = passes / runs}
 * @param passHatK pass^k for k = 1 .. the most runs of any case (at most 1000 entries)
 * @param passAtK pass@k for the same k
 * @param flaky names of cases that both passed and failed, in input order
 */
public record Summary(int cases, long runs, long passes, double pass1, Interval wilson,
    double clusteredSe, Interval clusteredCi, double naiveSe,
    SortedMap<Integer, Double> passHatK, SortedMap<Integer, Double> passAtK, List<String> flaky) {

  /** Validates the counts and copies the collections into unmodifiable ones. */
  public Summary {
    if (cases < 0 || runs < 0 || passes < 0 || passes > runs) {
      throw new IllegalArgumentException(
          "a summary needs 0 <= passes <= runs and cases >= 0, got " + passes + "/" + runs + " over " + cases);
    }
    if (!(clusteredSe >= 0) || !(naiveSe >= 0) || !(pass1 >= 0 && pass1 <= 1)) {
      throw new IllegalArgumentException("pass1 must be in [0, 1] and standard errors >= 0, got "
          + pass1 + ", " + clusteredSe + ", " + naiveSe);
    }
    passHatK = Collections.unmodifiableSortedMap(new TreeMap<>(passHatK));
    passAtK = Collections.unmodifiableSortedMap(new TreeMap<>(passAtK));
    flaky = List.copyOf(flaky);
  }
}
