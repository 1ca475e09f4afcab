package dev.flightdeck.rollout.analysis;

import java.util.Locale;

/** A bound a candidate's metric must respect: absolute, or relative to stable. */
public sealed interface Limit {

  /** Whether the limit depends on the stable version's value. */
  default boolean relative() {
    return false;
  }

  /** The limit's field name in the Rollout spec. */
  String field();

  /** The limit as people read it, e.g. {@code canary ≤ stable + 0.01}. */
  String describe(String unit);

  /** Canary at most {@code value}. */
  record Max(double value) implements Limit {
    @Override
    public String field() {
      return "max";
    }

    @Override
    public String describe(String unit) {
      return "canary ≤ " + num(value) + unit;
    }
  }

  /** Canary at least {@code value}. */
  record Min(double value) implements Limit {
    @Override
    public String field() {
      return "min";
    }

    @Override
    public String describe(String unit) {
      return "canary ≥ " + num(value) + unit;
    }
  }

  /** Canary at most stable plus {@code delta}. */
  record MaxIncrease(double delta) implements Limit {
    @Override
    public boolean relative() {
      return true;
    }

    @Override
    public String field() {
      return "maxIncrease";
    }

    @Override
    public String describe(String unit) {
      return "canary ≤ stable + " + num(delta) + unit;
    }
  }

  /** Canary at most stable times {@code ratio}. */
  record MaxRatio(double ratio) implements Limit {
    @Override
    public boolean relative() {
      return true;
    }

    @Override
    public String field() {
      return "maxRatio";
    }

    @Override
    public String describe(String unit) {
      return "canary ≤ stable × " + num(ratio);
    }
  }

  private static String num(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v)
        : String.format(Locale.ROOT, "%.6g", v).replaceAll("\\.?0+(e|$)", "$1");
  }
}
