package dev.flightdeck.rollout.analysis;

import java.util.function.DoubleUnaryOperator;

/**
 * Always-valid confidence intervals for a mean: intervals that hold at every sample size at once,
 * so a controller may look after every request and stop whenever it likes without inflating its
 * error rate.
 *
 * <p><b>Means</b> ({@link #halfWidth}): Robbins' normal mixture (Robbins 1970) in the asymptotic
 * form of Waudby-Smith, Arnold, Wu and Ramdas, "Time-uniform central limit theory and asymptotic
 * confidence sequences" (Annals of Statistics, 2024), Theorem 2.2: with {@code n} observations of
 * estimated variance {@code σ²}, the mean lies within
 *
 * <pre>  σ · sqrt( 2(nρ² + 1) / (n²ρ²) · log( sqrt(nρ² + 1) / α ) )</pre>
 *
 * of the sample mean for every {@code n} simultaneously, with probability at least {@code 1 − α}
 * (two-sided; asymptotically, which is why callers demand a minimum sample). {@code ρ} only
 * shapes the boundary; it is chosen to make it tightest at a sample size {@code m} (Howard,
 * Ramdas, McAuliffe and Sekhon, "Time-uniform, nonparametric, nonasymptotic confidence
 * sequences", Annals of Statistics 2021, eq. 3.6): {@code ρ² = (−2 log α + log(−2 log α + 1)) / m}.
 *
 * <p><b>Proportions</b> ({@link #proportion}): the normal approximation is poor for rare events
 * (two errors in a hundred requests), where a plug-in variance near 0 makes the interval too
 * narrow. Proportions use a beta-binomial mixture instead (a mixture of likelihood ratios as in
 * Robbins 1970, conjugate as in Howard et al. 2021): with {@code S} successes in {@code n}
 * trials, {@code p} stays in the interval while
 *
 * <pre>  M_n(p) = B(a + S, b + n − S) / B(a, b) / ( p^S (1 − p)^(n − S) ) &lt; 1/α,
 *   a = k·p, b = k·(1 − p), k = 1/ρ² − 1</pre>
 *
 * {@code M_n(p)} is the likelihood ratio of the trials against {@code p}, mixed over a Beta prior
 * centred on {@code p} whose spread matches the normal mixture's {@code ρ}; under {@code p} it is
 * a nonnegative martingale with mean 1, so by Ville's inequality it ever reaches {@code 1/α} with
 * probability at most {@code α}. That holds at every {@code n}, not only asymptotically, and
 * needs no variance estimate; successes may be fractional (interpolated histogram counts). The
 * ends are found numerically, to 1e-9 in log-odds.
 */
public final class ConfidenceSequence {

  private ConfidenceSequence() {}

  /** The mixture parameter {@code ρ²} that makes the boundary tightest at {@code tuneAt} observations. */
  public static double rho2(double alpha, double tuneAt) {
    double l = -2 * Math.log(alpha);
    return (l + Math.log(l + 1)) / tuneAt;
  }

  /**
   * Half-width of the two-sided sequence at level {@code alpha} after {@code n} observations of
   * variance {@code variance}; infinite with no observations.
   */
  public static double halfWidth(long n, double variance, double alpha, double tuneAt) {
    if (n <= 0) {
      return Double.POSITIVE_INFINITY;
    }
    double r2 = rho2(alpha, tuneAt);
    double t = n;
    double radius = 2 * (t * r2 + 1) / (t * t * r2) * Math.log(Math.sqrt(t * r2 + 1) / alpha);
    return Math.sqrt(Math.max(0, variance)) * Math.sqrt(radius);
  }

  /** The interval {@code [low, high]} for a mean. */
  public record Bounds(double low, double high) {}

  /** The interval around the mean of {@code m} with the given variance. */
  public static Bounds bounds(Moments m, double variance, double alpha, double tuneAt) {
    double w = halfWidth(m.n(), variance, alpha, tuneAt);
    return new Bounds(m.mean() - w, m.mean() + w);
  }

  /**
   * The always-valid interval for a proportion after {@code successes} out of {@code n} yes/no
   * observations ({@code successes} may be fractional, e.g. an interpolated histogram count);
   * {@code [0, 1]} with no observations.
   */
  public static Bounds proportion(double successes, long n, double alpha, double tuneAt) {
    return new Bounds(proportionBound(successes, n, alpha, tuneAt, false),
        proportionBound(successes, n, alpha, tuneAt, true));
  }

  /** One end of {@link #proportion}'s interval: the upper one, or the lower. */
  static double proportionBound(double successes, long n, double alpha, double tuneAt, boolean upper) {
    if (n <= 0) {
      return upper ? 1 : 0;
    }
    double s = Math.clamp(successes, 0, n);
    double phat = s / n;
    if (upper ? phat >= 1 : phat <= 0) {
      return phat;
    }
    double k = concentration(alpha, tuneAt);
    // Searched in log-odds, where the tails of (0, 1) are as wide as its middle. M_n is at most 1
    // at the sample proportion and grows away from it on either side; the normal mixture's width
    // is a first guess of the distance.
    double offset = logGamma(k) - logGamma(k + n) - Math.log(1 / alpha);
    DoubleUnaryOperator g = x -> logMixture(1 / (1 + Math.exp(-x)), s, n, k) + offset;
    double x0 = Math.clamp(Math.log(phat / (1 - phat)), -LOG_ODDS_END, LOG_ODDS_END);
    double v = Math.max(phat * (1 - phat), 1.0 / n);
    double step = halfWidth(n, v, alpha, tuneAt) / v;
    return probability(root(g, x0, upper ? step : -step, upper ? LOG_ODDS_END : -LOG_ODDS_END));
  }

  /**
   * The sample proportions after {@code n} observations whose {@link #proportion} interval still
   * contains {@code p}: where the sample of a stream with true proportion {@code p} stays, at
   * every {@code n} at once, with probability at least {@code 1 − α}.
   */
  public static Bounds accepted(double p, long n, double alpha, double tuneAt) {
    if (n <= 0 || p <= 0 || p >= 1) {
      return new Bounds(0, 1);
    }
    double k = concentration(alpha, tuneAt);
    // log M_n(p) is convex in the successes and at most 0 when they are n·p.
    double offset = logGamma(k) - logGamma(k + n) - Math.log(1 / alpha);
    DoubleUnaryOperator g = share -> logMixture(p, share * n, n, k) + offset;
    double step = halfWidth(n, p * (1 - p), alpha, tuneAt);
    return new Bounds(root(g, p, -step, 0), root(g, p, step, 1));
  }

  private static final double LOG_ODDS_END = 30;

  private static double probability(double logOdds) {
    return Math.abs(logOdds) >= LOG_ODDS_END ? (logOdds < 0 ? 0 : 1) : 1 / (1 + Math.exp(-logOdds));
  }

  /**
   * The Beta prior's {@code a + b}: a spread of {@code ρ} standard deviations of one observation,
   * as for means (at least 1, for very small {@code tuneAt}).
   */
  static double concentration(double alpha, double tuneAt) {
    return Math.max(1, 1 / rho2(alpha, tuneAt) - 1);
  }

  /**
   * {@code log M_n(p)} for {@code s} successes in {@code n}, without its term {@code log Γ(k) −
   * log Γ(k + n)}, which depends on neither {@code p} nor {@code s}.
   */
  static double logMixture(double p, double s, long n, double k) {
    double a = k * p;
    double b = k * (1 - p);
    double likelihood = (s > 0 ? s * Math.log(p) : 0) + (n - s > 0 ? (n - s) * Math.log1p(-p) : 0);
    return logGamma(a + s) - logGamma(a) + logGamma(b + n - s) - logGamma(b) - likelihood;
  }

  /**
   * Where {@code g}, negative at {@code in}, first reaches 0 going from {@code in} towards {@code
   * end} (in steps doubling from {@code step}); {@code end} when it does not before. The point
   * returned is on the negative side, within 1e-10 of the crossing (NaN counts as positive).
   */
  static double root(DoubleUnaryOperator g, double in, double step, double end) {
    double gIn = g.applyAsDouble(in);
    if (!(gIn < 0)) {
      return in;
    }
    double out;
    double gOut;
    while (true) {
      out = in + step;
      if ((step > 0) == (out >= end)) {
        out = end;
      }
      gOut = g.applyAsDouble(out);
      if (!(gOut < 0)) {
        break;
      }
      if (out == end) {
        return end;
      }
      in = out;
      gIn = gOut;
      step *= 2;
    }
    // Regula falsi with the Anderson–Björck correction: superlinear, and never leaves the
    // bracket. When the same end moves twice in a row, the other end's value is scaled down.
    int lastMoved = 0;
    for (int i = 0; i < 100 && Math.abs(out - in) > 1e-9; i++) {
      double x = in - gIn * (out - in) / (gOut - gIn);
      if (!(Math.min(out, in) < x && x < Math.max(out, in))) {
        x = (out + in) / 2;
      }
      double gx = g.applyAsDouble(x);
      if (!(gx < 0)) {
        double m = 1 - gx / gOut;
        out = x;
        gOut = gx;
        if (lastMoved == 1) {
          gIn *= m > 0 ? m : 0.5;
        }
        lastMoved = 1;
      } else {
        double m = 1 - gx / gIn;
        in = x;
        gIn = gx;
        if (gx > -1e-9) {
          break;
        }
        if (lastMoved == -1) {
          gOut *= m > 0 ? m : 0.5;
        }
        lastMoved = -1;
      }
    }
    return in;
  }

  private static final double HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

  /**
   * {@code log Γ(x)} for {@code x > 0}: Stirling's series from 10 up (error below 1e-14),
   * shifted up by the recurrence {@code Γ(x + 1) = x Γ(x)} below.
   */
  static double logGamma(double x) {
    double shift = 1;
    while (x < 10) {
      shift *= x;
      x += 1;
    }
    double r = 1 / x;
    double r2 = r * r;
    double series = r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 / 1188))));
    return (x - 0.5) * Math.log(x) - x + HALF_LOG_TWO_PI + series - Math.log(shift);
  }
}
