package dev.flightdeck.eval.stats;

/** Settling a case's verdict early. */
public enum Decision {
  /** The case passes: its pass rate is at least the threshold. */
  PASS,
  /** The case fails: its pass rate is below the threshold. */
  FAIL,
  /** Not settled yet: run the case again. */
  CONTINUE
}
