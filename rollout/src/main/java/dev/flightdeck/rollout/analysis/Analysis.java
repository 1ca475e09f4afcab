package dev.flightdeck.rollout.analysis;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.gateway.telemetry.LatencyHistogram;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Compares a candidate (canary) with the stable version on an analysis's metrics.
 *
 * <p><b>Sequential mode</b> ({@link #evaluate}): for every limit, an always-valid interval
 * ({@link ConfidenceSequence}) on how far the candidate is above it, computed from everything
 * observed since the analysis began. The limit fails when the interval lies entirely above 0 and
 * passes when it lies entirely at or below 0; until then it waits. {@code alpha} is split evenly
 * over the limits, and for a limit relative to stable, evenly over the two versions' intervals,
 * so the chance that any interval ever misses its true value is at most {@code alpha}: a
 * candidate within every limit is rolled back with probability at most {@code alpha}, however
 * often the controller looks, and one beyond a limit is passed with probability at most
 * {@code alpha}. Proportions (error rates, the latency shares below) use the exact beta-binomial
 * mixture, other means the asymptotic normal one ({@link ConfidenceSequence}).
 *
 * <p>Latency quantiles are tested through proportions: the candidate's p95 is above a limit
 * {@code L} exactly when more than 5% of its requests are slower than {@code L}. The histogram
 * buckets are up to 25% wide, and inside a bucket durations are taken as spread evenly (linear
 * interpolation, as Prometheus' {@code histogram_quantile} does). That is a modelling assumption
 * outside {@code alpha}; counting by bucket edges instead would be exact but loses up to two
 * buckets (a factor of about 1.5 on the limit), too coarse to tell a 1.5× regression from a 1.2×
 * limit or to pass a candidate equal to stable. A limit relative to stable also bounds stable's
 * quantile with an always-valid interval ({@code alpha} split over the two versions as for means):
 * failing compares with its top, passing with its bottom.
 *
 * <p><b>Threshold mode</b> ({@link #check}): the point estimates over one interval against the
 * limits, nothing more (quantiles interpolated like Prometheus' {@code histogram_quantile}, which
 * Flagger queries); {@link ThresholdPolicy} counts the failed checks like Flagger does.
 */
public final class Analysis {

  /** The boundary is tightest at this multiple of the minimum sample. */
  static final double TUNE_AT_MIN_SAMPLES = 4;

  private Analysis() {}

  /** The outcome of an evaluation, with its evidence. */
  public record Result(Verdict verdict, AnalysisSpec.Mode mode, double alpha, List<MetricResult> metrics) {

    /** The evidence as JSON. */
    public ObjectNode toJson() {
      ObjectNode o = Json.object().put("verdict", verdict.id())
          .put("mode", mode.name().toLowerCase(Locale.ROOT)).put("alpha", alpha);
      ArrayNode a = o.putArray("metrics");
      metrics.forEach(m -> a.add(m.toJson()));
      return o;
    }

    /** One line: the failing limits, or what is still missing. */
    public String summary() {
      List<String> parts = new ArrayList<>();
      for (MetricResult m : metrics) {
        if (m.verdict() == verdict || verdict == Verdict.PASS) {
          parts.add(m.metric() + " " + m.limit() + ": " + m.reason());
        }
      }
      return String.join("; ", parts);
    }
  }

  /** The sequential verdict on everything observed since the analysis began. */
  public static Result evaluate(AnalysisSpec spec, Arm stable, Arm canary) {
    double alphaPerLimit = spec.alpha() / Math.max(1, spec.checks());
    double tuneAt = TUNE_AT_MIN_SAMPLES * spec.minSamples();
    List<MetricResult> out = new ArrayList<>();
    for (MetricSpec m : spec.metrics()) {
      for (Limit l : m.limits()) {
        out.add(m.type() == MetricSpec.Type.QUANTILE
            ? quantile(m, l, stable, canary, alphaPerLimit, tuneAt, spec.minSamples())
            : mean(m, l, stable, canary, alphaPerLimit, tuneAt, spec.minSamples()));
      }
    }
    return new Result(combine(out), spec.mode(), spec.alpha(), List.copyOf(out));
  }

  /** Threshold mode: the point estimates of one interval against the limits, no statistics. */
  public static Result check(AnalysisSpec spec, Arm stable, Arm canary) {
    List<MetricResult> out = new ArrayList<>();
    for (MetricSpec m : spec.metrics()) {
      for (Limit l : m.limits()) {
        out.add(pointCheck(m, l, stable, canary));
      }
    }
    return new Result(combine(out), spec.mode(), spec.alpha(), List.copyOf(out));
  }

  private static Verdict combine(List<MetricResult> results) {
    boolean allPass = !results.isEmpty();
    for (MetricResult r : results) {
      if (r.verdict() == Verdict.FAIL) {
        return Verdict.FAIL;
      }
      allPass &= r.verdict() == Verdict.PASS;
    }
    return allPass ? Verdict.PASS : Verdict.WAIT;
  }

  private static MetricResult mean(MetricSpec m, Limit l, Arm stableArm, Arm canaryArm, double alpha, double tuneAt,
      long minSamples) {
    Moments c = canaryArm.moments(m.key());
    Moments s = l.relative() ? stableArm.moments(m.key()) : null;
    String limit = l.describe(m.unit());
    String missing = missing(c.n(), s == null ? -1 : s.n(), minSamples);
    if (missing != null) {
      return new MetricResult(m.name(), limit, Verdict.WAIT, c.n(), c.mean(), s == null ? -1 : s.n(),
          s == null ? Double.NaN : s.mean(), Double.NaN, Double.NaN, missing);
    }
    double a = s == null ? alpha : alpha / 2;
    ConfidenceSequence.Bounds cb = bounds(m, c, a, tuneAt);
    ConfidenceSequence.Bounds sb = s == null ? null : bounds(m, s, a, tuneAt);
    double low;
    double high;
    switch (l) {
      case Limit.Max max -> {
        low = cb.low() - max.value();
        high = cb.high() - max.value();
      }
      case Limit.Min min -> {
        low = min.value() - cb.high();
        high = min.value() - cb.low();
      }
      case Limit.MaxIncrease inc -> {
        low = cb.low() - sb.high() - inc.delta();
        high = cb.high() - sb.low() - inc.delta();
      }
      case Limit.MaxRatio r -> {
        low = cb.low() - r.ratio() * sb.high();
        high = cb.high() - r.ratio() * Math.max(0, sb.low());
      }
    }
    Verdict v = low > 0 ? Verdict.FAIL : high <= 0 ? Verdict.PASS : Verdict.WAIT;
    String reason = switch (v) {
      case FAIL -> "above the limit by " + fmt(low) + " to " + fmt(high) + " (always-valid interval at " + pct(1 - alpha) + ")";
      case PASS -> "within the limit by at least " + fmt(-high);
      case WAIT -> "the interval " + fmt(low) + " to " + fmt(high) + " around the limit still contains 0";
    };
    return new MetricResult(m.name(), limit, v, c.n(), c.mean(), s == null ? -1 : s.n(),
        s == null ? Double.NaN : s.mean(), low, high, reason);
  }

  /** The interval on one arm's mean: exact for proportions, the normal mixture otherwise. */
  private static ConfidenceSequence.Bounds bounds(MetricSpec m, Moments x, double alpha, double tuneAt) {
    return m.indicator() ? ConfidenceSequence.proportion(x.sum(), x.n(), alpha, tuneAt)
        : ConfidenceSequence.bounds(x, variance(m, x), alpha, tuneAt);
  }

  /**
   * The variance used for the normal mixture, with one pseudo-observation so that a run of equal
   * values does not claim certainty: of variance 1/4 for custom per-request counts, of a quarter
   * of the squared mean for tokens and cost.
   */
  static double variance(MetricSpec m, Moments x) {
    double prior = m.custom() ? 0.25 : Math.pow(x.mean() / 2, 2);
    return (x.n() * x.variance() + prior) / (x.n() + 1);
  }

  private static MetricResult quantile(MetricSpec m, Limit l, Arm stableArm, Arm canaryArm, double alpha,
      double tuneAt, long minSamples) {
    LatencyHistogram c = canaryArm.latency();
    LatencyHistogram s = l.relative() ? stableArm.latency() : null;
    double q = m.quantile();
    String limit = l.describe(m.unit()).replace("canary", "canary p" + Math.round(q * 100));
    long cn = c.total();
    long sn = s == null ? -1 : s.total();
    double cEst = Histograms.quantile(c, q) / 1000.0;
    double sEst = s == null ? Double.NaN : Histograms.quantile(s, q) / 1000.0;
    String missing = missing(cn, sn, minSamples);
    if (missing != null) {
      return new MetricResult(m.name(), limit, Verdict.WAIT, cn, cEst, sn, sEst, Double.NaN, Double.NaN, missing);
    }
    double a = s == null ? alpha : alpha / 2;
    // A share q of stable's requests lie below its true quantile Q. Wherever stable's interval on
    // that share holds, its sample share below Q is within the accepted range, so Q lies between
    // the quantiles at the ends of that range.
    ConfidenceSequence.Bounds accepted = s == null ? null : ConfidenceSequence.accepted(q, sn, a, tuneAt);
    double stableLow = s == null ? Double.NaN : Histograms.quantile(s, accepted.low());
    double stableHigh = s == null ? Double.NaN : Histograms.quantile(s, accepted.high());
    // The limit in microseconds, for failing (as high as it may be) and for passing (as low).
    double failAt;
    double passAt;
    switch (l) {
      case Limit.Max max -> {
        failAt = max.value() * 1000;
        passAt = failAt;
      }
      case Limit.MaxIncrease inc -> {
        failAt = stableHigh + inc.delta() * 1000;
        passAt = stableLow + inc.delta() * 1000;
      }
      case Limit.MaxRatio r -> {
        failAt = stableHigh * r.ratio();
        passAt = stableLow * r.ratio();
      }
      case Limit.Min min -> throw new IllegalArgumentException("min is refused for quantiles when parsing");
    }
    // The share above failAt is at most the share above the true limit, and the share above
    // passAt at least; the intervals' ends grow with the share, so each errs on its safe side.
    double allowed = 1 - q;
    double failShare = Histograms.shareAbove(c, failAt);
    double passShare = Histograms.shareAbove(c, passAt);
    double low = ConfidenceSequence.proportionBound(failShare * cn, cn, a, tuneAt, false) - allowed;
    double high = ConfidenceSequence.proportionBound(passShare * cn, cn, a, tuneAt, true) - allowed;
    Verdict v = low > 0 ? Verdict.FAIL : high <= 0 ? Verdict.PASS : Verdict.WAIT;
    String reason = switch (v) {
      case FAIL -> pct(failShare) + " of canary requests above " + ms(failAt) + ", more than " + pct(allowed)
          + " (always-valid interval at " + pct(1 - alpha) + ")";
      case PASS -> "at most " + pct(allowed + high) + " of canary requests above " + ms(passAt) + "; "
          + pct(allowed) + " allowed";
      case WAIT -> pct(failShare) + " of canary requests above " + ms(failAt) + "; " + pct(allowed)
          + " allowed; not yet decisive";
    };
    return new MetricResult(m.name(), limit, v, cn, cEst, sn, sEst, low, high, reason);
  }

  private static MetricResult pointCheck(MetricSpec m, Limit l, Arm stableArm, Arm canaryArm) {
    String limit = l.describe(m.unit());
    double c;
    long cn;
    double s = Double.NaN;
    long sn = -1;
    if (m.type() == MetricSpec.Type.QUANTILE) {
      LatencyHistogram h = canaryArm.latency();
      cn = h.total();
      c = Histograms.quantile(h, m.quantile()) / 1000.0;
      if (l.relative()) {
        sn = stableArm.latency().total();
        s = Histograms.quantile(stableArm.latency(), m.quantile()) / 1000.0;
      }
    } else {
      Moments cm = canaryArm.moments(m.key());
      cn = cm.n();
      c = cm.mean();
      if (l.relative()) {
        Moments sm = stableArm.moments(m.key());
        sn = sm.n();
        s = sm.mean();
      }
    }
    if (cn == 0 || sn == 0) {
      return new MetricResult(m.name(), limit, Verdict.WAIT, cn, c, sn, s, Double.NaN, Double.NaN, "no data");
    }
    double excess = switch (l) {
      case Limit.Max max -> c - max.value();
      case Limit.Min min -> min.value() - c;
      case Limit.MaxIncrease inc -> c - s - inc.delta();
      case Limit.MaxRatio r -> c - s * r.ratio();
    };
    Verdict v = excess > 0 ? Verdict.FAIL : Verdict.PASS;
    return new MetricResult(m.name(), limit, v, cn, c, sn, s, excess, excess,
        v == Verdict.FAIL ? "above the limit by " + fmt(excess) : "within the limit");
  }

  private static String missing(long canaryN, long stableN, long minSamples) {
    if (canaryN < minSamples) {
      return canaryN + " of " + minSamples + " canary samples";
    }
    if (stableN >= 0 && stableN < minSamples) {
      return stableN + " of " + minSamples + " stable samples";
    }
    return null;
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.4g", v);
  }

  private static String ms(double micros) {
    return Double.isInfinite(micros) ? "∞ ms" : fmt(micros / 1000) + " ms";
  }

  private static String pct(double v) {
    return String.format(Locale.ROOT, "%.1f%%", v * 100);
  }
}
