package dev.flightdeck.eval.stats;

import java.util.List;
import java.util.OptionalDouble;

/**
 * pass^k (all of k runs pass) and pass@k (at least one of k runs passes), estimated without bias
 * from c passes out of n runs by drawing k of the n runs without replacement.
 *
 * <p>The binomial ratios are products of k ratios, each at most 1, so nothing overflows for n in
 * the thousands; a ratio that underflows is a probability below 1e-308, and 0 is the right answer.
 */
public final class PassK {
  private PassK() {}

  /** pass^k as tau-bench defines it: mean over cases with runs>=k of C(c,k)/C(n,k); empty if no case has k runs. */
  public static OptionalDouble passHatK(List<CaseTally> cases, int k) {
    requirePositive(k);
    double sum = 0;
    int counted = 0;
    for (CaseTally c : cases) {
      if (c.runs() >= k) {
        sum += allPass(c.passes(), c.runs(), k);
        counted++;
      }
    }
    return counted == 0 ? OptionalDouble.empty() : OptionalDouble.of(sum / counted);
  }

  /** pass@k (Chen et al. 2021 unbiased estimator): mean over cases with runs>=k of 1 - C(n-c,k)/C(n,k); empty if no case has k runs. */
  public static OptionalDouble passAtK(List<CaseTally> cases, int k) {
    requirePositive(k);
    double sum = 0;
    int counted = 0;
    for (CaseTally c : cases) {
      if (c.runs() >= k) {
        sum += 1 - allPass(c.runs() - c.passes(), c.runs(), k);
        counted++;
      }
    }
    return counted == 0 ? OptionalDouble.empty() : OptionalDouble.of(sum / counted);
  }

  /** C(c,k)/C(n,k) = prod_{i<k} (c-i)/(n-i): the chance that k runs drawn from n all come from the c. */
  static double allPass(int c, int n, int k) {
    if (c < k) {
      return 0;
    }
    double ratio = 1;
    for (int i = 0; i < k; i++) {
      ratio *= (double) (c - i) / (n - i);
    }
    return ratio;
  }

  /**
   * pass^k and pass@k for every k in 1..kMax at once, in O(cases * kMax): the ratio for k+1 is the
   * ratio for k times one more factor, multiplied in the same order as {@link #allPass}, so the
   * values equal those of {@link #passHatK} and {@link #passAtK}. Index k-1 holds k; NaN where no
   * case has k runs.
   */
  static double[][] curves(List<CaseTally> cases, int kMax) {
    double[] hatSum = new double[kMax];
    double[] atSum = new double[kMax];
    int[] counted = new int[kMax];
    for (CaseTally c : cases) {
      int n = c.runs();
      int fails = n - c.passes();
      double allPassing = 1;
      double allFailing = 1;
      for (int k = 1; k <= Math.min(n, kMax); k++) {
        int i = k - 1;
        allPassing = c.passes() < k ? 0 : allPassing * ((double) (c.passes() - i) / (n - i));
        allFailing = fails < k ? 0 : allFailing * ((double) (fails - i) / (n - i));
        hatSum[i] += allPassing;
        atSum[i] += 1 - allFailing;
        counted[i]++;
      }
    }
    double[][] out = new double[2][kMax];
    for (int i = 0; i < kMax; i++) {
      out[0][i] = counted[i] == 0 ? Double.NaN : hatSum[i] / counted[i];
      out[1][i] = counted[i] == 0 ? Double.NaN : atSum[i] / counted[i];
    }
    return out;
  }

  private static void requirePositive(int k) {
    if (k < 1) {
      throw new IllegalArgumentException("k must be at least 1, got " + k);
    }
  }
}
